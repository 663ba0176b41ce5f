import {
  announce,
  api,
  describeCount,
  el,
  formatTime,
  formValues,
  rememberForm,
  restoreForm,
  saveResponse,
  setUpPage,
  showRefusal,
  timeZone,
} from '/ui/common.js';

const PAGE_SIZE = 50;
const ACTIONS = [
  'event.*',
  'reply.*',
  'deadletter.*',
  'event.received',
  'event.duplicate',
  'event.processed',
  'event.attempt_failed',
  'event.dead_lettered',
  'reply.sent',
  'reply.skipped',
  'reply.unknown',
  'reply.failed',
  'reply.reconciled',
  'reply.held',
  'conversation.handoff',
  'webhook.rejected',
  'webhook.malformed',
  'deadletter.payload_viewed',
  'deadletter.replayed',
  'deadletter.bulk_replay',
  'deadletter.purged',
  'auditlog.exported',
  'apikey.created',
  'apikey.revoked',
];
const TONES = { success: 'good', failure: 'bad', rejected: 'bad', unknown: 'warn', skipped: 'warn' };

const main = document.getElementById('main');
const form = document.getElementById('filters');
const rows = document.getElementById('rows');
const status = document.getElementById('status');
const loadMore = document.getElementById('load-more');
let nextCursor = null;
let shown = 0;

function outcomePill(outcome) {
  return el('span', { className: 'pill', 'data-tone': TONES[outcome] }, outcome ?? '—');
}

function details(metadata) {
  if (!metadata || typeof metadata !== 'object') return '';
  return Object.entries(metadata)
    .map(([name, value]) => `${name}: ${typeof value === 'object' ? JSON.stringify(value) : value}`)
    .join(' · ');
}

/** An id cell whose button narrows the log to that id (how staff follow one message). */
function idCell(value, field) {
  if (!value) return el('td', {}, '—');
  return el(
    'td',
    { className: 'id' },
    el(
      'button',
      {
        type: 'button',
        className: 'link',
        title: `Show only entries with this ${field === 'eventId' ? 'event' : 'correlation'} id`,
        onclick: () => {
          form.reset();
          form.elements[field].value = value;
          void search();
        },
      },
      value,
    ),
  );
}

function row(entry) {
  return el(
    'tr',
    {},
    el('td', { className: 'nowrap' }, formatTime(entry.occurredAt)),
    el('td', { className: 'mono nowrap' }, entry.action),
    el('td', {}, outcomePill(entry.outcome)),
    el('td', {}, entry.provider ?? '—'),
    idCell(entry.eventId, 'eventId'),
    idCell(entry.correlationId, 'correlationId'),
    el('td', {}, entry.actor ?? '—'),
    el('td', { className: 'details-cell' }, details(entry.metadata)),
  );
}

async function fetchPage(cursor) {
  return api('/audit-logs', { query: { ...formValues(form), cursor, limit: PAGE_SIZE } });
}

function showPage(page, append) {
  const items = page?.items ?? [];
  if (!append) rows.replaceChildren();
  rows.append(...items.map(row));
  shown = append ? shown + items.length : items.length;
  nextCursor = page?.nextCursor ?? null;
  loadMore.hidden = !nextCursor;
  if (shown === 0) {
    rows.append(el('tr', {}, el('td', { colspan: 8, className: 'empty' }, 'No entries match these filters.')));
  }
  announce(status, `Showing ${describeCount(shown, 'entry', 'entries')}${nextCursor ? '; more are available' : ''}.`);
}

async function search() {
  rememberForm(form);
  announce(status, 'Searching…');
  try {
    showPage(await fetchPage(undefined), false);
  } catch (error) {
    if (error.status === 401 || error.status === 403) showRefusal(main, error);
    else announce(status, error.message, 'error');
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  void search();
});

document.getElementById('clear').addEventListener('click', () => {
  form.reset();
  void search();
});

loadMore.addEventListener('click', async () => {
  loadMore.disabled = true;
  try {
    showPage(await fetchPage(nextCursor), true);
  } catch (error) {
    announce(status, error.message, 'error');
  } finally {
    loadMore.disabled = false;
  }
});

document.getElementById('download').addEventListener('click', async (event) => {
  const button = event.currentTarget;
  button.disabled = true;
  announce(status, 'Preparing the CSV export…');
  try {
    const response = await api('/audit-logs', { query: { ...formValues(form), format: 'csv' }, raw: true });
    const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
    const bytes = await saveResponse(response, `audit-log-${stamp}.csv`);
    announce(
      status,
      `CSV downloaded (${Math.max(1, Math.round(bytes / 1024))} kB) with the current filters.`,
      'success',
    );
  } catch (error) {
    announce(status, error.message, 'error');
  } finally {
    button.disabled = false;
  }
});

if (setUpPage('audit')) {
  document.getElementById('known-actions').append(...ACTIONS.map((value) => el('option', { value })));
  for (const span of document.querySelectorAll('.tz')) span.textContent = `(${timeZone})`;
  restoreForm(form);
  void search();
}
