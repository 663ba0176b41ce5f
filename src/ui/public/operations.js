import { announce, api, el, formatTime, setUpPage, showRefusal } from '/ui/common.js';

const POLL_MS = 2000;
const KINDS = {
  'dead-letters.replay': 'Dead-letter replay',
  'deliveries.retry': 'Delivery retry',
};
const TONES = { running: 'warn', completed: 'good', cancelled: undefined, failed: 'bad' };

const main = document.getElementById('main');
const rows = document.getElementById('rows');
const status = document.getElementById('status');
const updated = document.getElementById('updated');
let timer;

function progress(operation) {
  const label = `${operation.done.toLocaleString()} of ${operation.total.toLocaleString()}`;
  return el(
    'div',
    { className: 'progress' },
    el('progress', {
      max: Math.max(1, operation.total),
      value: Math.min(operation.done, Math.max(1, operation.total)),
      'aria-label': `${KINDS[operation.kind] ?? operation.kind} progress: ${label}`,
    }),
    el('span', { className: 'muted' }, label),
  );
}

async function cancel(operation, button) {
  button.disabled = true;
  try {
    const after = await api(`/admin/operations/${encodeURIComponent(operation.id)}/cancel`, { method: 'POST' });
    announce(
      status,
      after.status === 'cancelled'
        ? `Operation cancelled after ${after.done.toLocaleString()} of ${after.total.toLocaleString()}.`
        : `Cancel asked for; the operation is still ${after.status} (${after.done.toLocaleString()} done).`,
      after.status === 'cancelled' ? 'success' : 'info',
    );
  } catch (error) {
    announce(status, error.message, 'error');
  }
  await poll();
}

function row(operation) {
  const cancelButton =
    operation.status === 'running'
      ? el(
          'button',
          {
            type: 'button',
            className: 'danger',
            'aria-label': `Cancel operation ${operation.id}`,
            onclick: (event) => cancel(operation, event.currentTarget),
          },
          'Cancel',
        )
      : null;
  return el(
    'tr',
    { 'data-id': operation.id, 'data-status': operation.status },
    el('td', {}, KINDS[operation.kind] ?? operation.kind, el('div', { className: 'muted id' }, operation.id)),
    el('td', {}, el('span', { className: 'pill', 'data-tone': TONES[operation.status] }, operation.status)),
    el('td', {}, progress(operation)),
    el('td', {}, operation.failed.toLocaleString()),
    el('td', {}, operation.actor),
    el('td', {}, formatTime(operation.createdAt)),
    el('td', {}, operation.finishedAt ? formatTime(operation.finishedAt) : '—'),
    el('td', {}, cancelButton),
  );
}

async function poll() {
  clearTimeout(timer);
  try {
    const page = await api('/admin/operations', { query: { limit: 50 } });
    const items = page?.items ?? [];
    rows.replaceChildren(
      ...(items.length
        ? items.map(row)
        : [el('tr', {}, el('td', { colspan: 8, className: 'muted' }, 'No operation has run yet.'))]),
    );
    updated.textContent = `Updated ${formatTime(new Date())}`;
  } catch (error) {
    if (error.status === 401 || error.status === 403) {
      showRefusal(main, error);
      return;
    }
    announce(status, error.message, 'error');
  }
  if (!document.hidden) timer = setTimeout(poll, POLL_MS);
}

document.addEventListener('visibilitychange', () => {
  if (!document.hidden) void poll();
});

if (setUpPage('operations')) void poll();
