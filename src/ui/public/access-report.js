import {
  announce,
  api,
  describeCount,
  el,
  formatTime,
  formValues,
  setUpPage,
  showRefusal,
  timeZone,
} from '/ui/common.js';

const LABELS = {
  'deadletter.payload_viewed': 'Payload viewed',
  'deadletter.replayed': 'Replayed',
  'reply.sent': 'Reply sent',
  'message.sent': 'Message sent',
  'participant.erased': 'Erased',
};

const main = document.getElementById('main');
const form = document.getElementById('filters');
const rows = document.getElementById('rows');
const status = document.getElementById('status');

function row(item) {
  return el(
    'tr',
    {},
    el('td', {}, formatTime(item.occurredAt)),
    el('td', {}, LABELS[item.action] ?? item.action),
    el('td', {}, item.actor),
    el('td', {}, item.reason ?? '—'),
    el('td', {}, item.outcome),
    el('td', { className: 'mono' }, item.eventId ?? '—'),
  );
}

async function show() {
  const query = formValues(form);
  if (!query.participantId) return;
  announce(status, 'Searching…');
  try {
    const report = await api('/admin/access-report', { query });
    rows.replaceChildren(...report.items.map(row));
    if (report.items.length === 0) {
      rows.append(el('tr', {}, el('td', { colspan: 6, className: 'empty' }, 'No audited access to this patient.')));
    }
    announce(
      status,
      `${describeCount(report.items.length, 'access', 'accesses')} (fingerprint ${report.participant}).`,
    );
  } catch (error) {
    if (error.status === 401 || error.status === 403) showRefusal(main, error);
    else announce(status, error.message, 'error');
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  void show();
});

if (setUpPage('access-report')) {
  for (const span of document.querySelectorAll('.tz')) span.textContent = `(${timeZone})`;
}
