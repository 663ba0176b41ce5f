import {
  announce,
  api,
  describeCount,
  el,
  formatTime,
  formValues,
  rememberForm,
  restoreForm,
  setUpPage,
  showRefusal,
  timeZone,
} from '/ui/common.js';

const PAGE_SIZE = 50;
const STATUS_TONES = { pending: 'bad', replayed: 'good', resolved: 'good' };

const main = document.getElementById('main');
const form = document.getElementById('filters');
const rows = document.getElementById('rows');
const status = document.getElementById('status');
const loadMore = document.getElementById('load-more');
const selectAll = document.getElementById('select-all');
const replaySelected = document.getElementById('replay-selected');
const inspectDialog = document.getElementById('inspect');
const inspectBody = document.getElementById('inspect-body');
const confirmDialog = document.getElementById('confirm');
const selected = new Set();
let nextCursor = null;
let shown = 0;

const filters = () => formValues(form);
/** The bulk-replay filter: the list's filters except status (a bulk replay takes pending dead letters only). */
function replayFilter() {
  const { status: _status, ...filter } = filters();
  return filter;
}
/** Pending inbound dead letters are replayed (a malformed body is read again); outbound deliveries are retried. */
const replayable = (letter) => letter.status === 'pending' && letter.source !== 'outbound';
const retryable = (letter) =>
  letter.status === 'pending' && letter.source === 'outbound' && letter.endpointId && letter.deliveryId;
const QUEUE_OF_SOURCE = { inbound: 'inbound-events', outbound: 'outbound-deliveries' };

/** The event's whole story in the audit log. */
function auditLink(eventId) {
  return el(
    'a',
    { href: `/ui/audit?eventId=${encodeURIComponent(eventId)}`, title: 'Show this event in the audit log' },
    eventId,
  );
}

function refuseOr(error) {
  if (error.status === 401 || error.status === 403) showRefusal(main, error);
  else announce(status, error.message, 'error');
}

/** Asks for confirmation in a modal dialog; resolves true when confirmed. */
function confirmAction({ title, text, confirmLabel, danger = false }) {
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  const yes = document.getElementById('confirm-yes');
  yes.textContent = confirmLabel;
  yes.className = danger ? 'danger' : '';
  const opener = document.activeElement;
  return new Promise((resolve) => {
    const done = (answer) => {
      yes.removeEventListener('click', onYes);
      confirmDialog.removeEventListener('close', onClose);
      if (confirmDialog.open) confirmDialog.close();
      opener?.focus?.();
      resolve(answer);
    };
    const onYes = () => done(true);
    const onClose = () => done(false);
    yes.addEventListener('click', onYes);
    confirmDialog.addEventListener('close', onClose);
    confirmDialog.showModal();
    confirmDialog.querySelector('[data-close]').focus();
  });
}

for (const dialog of [inspectDialog, confirmDialog]) {
  dialog.querySelector('[data-close]').addEventListener('click', () => dialog.close());
}

function updateSelection() {
  replaySelected.disabled = selected.size === 0;
  replaySelected.textContent = selected.size ? `Replay selected (${selected.size})` : 'Replay selected';
  const boxes = rows.querySelectorAll('input[type=checkbox]');
  selectAll.checked = boxes.length > 0 && [...boxes].every((box) => box.checked);
}

function row(letter) {
  const checkbox = el('input', {
    type: 'checkbox',
    'aria-label': `Select dead letter ${letter.id}`,
    onchange: (event) => {
      if (event.currentTarget.checked) selected.add(letter.id);
      else selected.delete(letter.id);
      updateSelection();
    },
  });
  checkbox.checked = selected.has(letter.id);
  return el(
    'tr',
    { 'data-id': letter.id },
    el('td', {}, checkbox),
    el('td', { className: 'nowrap' }, formatTime(letter.createdAt)),
    el('td', {}, el('span', { className: 'pill', 'data-tone': 'warn' }, letter.category)),
    el('td', {}, [letter.source, letter.provider].filter(Boolean).join(' · ') || '—'),
    el('td', {}, letter.error ?? '—'),
    el('td', { className: 'num' }, letter.attempts ?? '—'),
    el('td', {}, el('span', { className: 'pill', 'data-tone': STATUS_TONES[letter.status] }, letter.status)),
    el('td', { className: 'id' }, letter.eventId ? auditLink(letter.eventId) : '—'),
    el(
      'td',
      { className: 'nowrap' },
      el(
        'button',
        {
          type: 'button',
          className: 'secondary small',
          onclick: () => inspect(letter.id),
          'aria-label': `Inspect dead letter ${letter.id}`,
        },
        'Inspect',
      ),
      ' ',
      replayable(letter)
        ? el(
            'button',
            {
              type: 'button',
              className: 'small',
              onclick: () => replayOne(letter.id),
              'aria-label': `Replay dead letter ${letter.id}`,
            },
            'Replay',
          )
        : '',
      retryable(letter)
        ? el(
            'button',
            {
              type: 'button',
              className: 'small',
              onclick: () => retryDelivery(letter),
              'aria-label': `Retry the outbound delivery of dead letter ${letter.id}`,
            },
            'Retry delivery',
          )
        : '',
    ),
  );
}

function showPage(page, append) {
  const items = page?.items ?? [];
  if (!append) {
    rows.replaceChildren();
    selected.clear();
  }
  rows.append(...items.map(row));
  shown = append ? shown + items.length : items.length;
  nextCursor = page?.nextCursor ?? null;
  loadMore.hidden = !nextCursor;
  if (shown === 0) {
    rows.append(el('tr', {}, el('td', { colspan: 9, className: 'empty' }, 'No dead letters match these filters.')));
  }
  updateSelection();
}

async function fetchPage(cursor) {
  return api('/admin/dead-letters', { query: { ...filters(), cursor, limit: PAGE_SIZE } });
}

async function search({ quiet = false } = {}) {
  rememberForm(form);
  if (!quiet) announce(status, 'Searching…');
  try {
    showPage(await fetchPage(undefined), false);
    if (!quiet)
      announce(status, `Showing ${describeCount(shown, 'dead letter')}${nextCursor ? '; more are available' : ''}.`);
  } catch (error) {
    refuseOr(error);
  }
}

async function replayOne(id) {
  try {
    const result = await api(`/admin/dead-letters/${encodeURIComponent(id)}/replay`, { method: 'POST' });
    if (inspectDialog.open) inspectDialog.close();
    selected.delete(id);
    await search({ quiet: true });
    const events = result?.eventIds?.length ?? 1;
    announce(
      status,
      events === 1
        ? `Dead letter ${id} replayed: its event is processing again.`
        : `Dead letter ${id} replayed: ${describeCount(events, 'event')} processing again.`,
      'success',
    );
  } catch (error) {
    refuseOr(error);
  }
}

/** An outbound delivery is sent again through its endpoint's retry route (which settles the dead letter). */
async function retryDelivery(letter) {
  try {
    await api(
      `/endpoints/${encodeURIComponent(letter.endpointId)}/deliveries/${encodeURIComponent(letter.deliveryId)}/retry`,
      { method: 'POST' },
    );
    if (inspectDialog.open) inspectDialog.close();
    await search({ quiet: true });
    announce(status, `Delivery ${letter.deliveryId} queued again to its endpoint.`, 'success');
  } catch (error) {
    refuseOr(error);
  }
}

/** A bulk-replay answer's count of replayable dead letters. */
const countOf = (result) => result?.matched ?? 0;

/** A bulk replay leaves out malformed webhook bodies and outbound deliveries: they are handled one by one. */
function skippedNote(result) {
  const bodies = result?.skippedReceiptsOnly ?? 0;
  const outbound = result?.skippedOutbound ?? 0;
  return (
    (bodies
      ? ` ${describeCount(bodies, 'unreadable webhook body', 'unreadable webhook bodies')} left out (replay those one by one).`
      : '') +
    (outbound
      ? ` ${describeCount(outbound, 'outbound delivery', 'outbound deliveries')} left out (retry those one by one).`
      : '')
  );
}

replaySelected.addEventListener('click', async () => {
  const ids = [...selected];
  const confirmed = await confirmAction({
    title: 'Replay the selected dead letters?',
    text: `${describeCount(ids.length, 'dead letter')} will be processed again. Replies already sent are not sent twice.`,
    confirmLabel: `Replay ${ids.length}`,
  });
  if (!confirmed) return;
  try {
    const result = await api('/admin/dead-letters/replay', { method: 'POST', body: { ids } });
    announce(status, `Replay started for ${describeCount(countOf(result), 'dead letter')}.${skippedNote(result)}`);
    if (result?.operationId) await followBulkReplay(result.operationId);
    else await search({ quiet: true });
  } catch (error) {
    refuseOr(error);
  }
});

/** Follows a bulk replay (a durable operation, also on the Operations page) until it ends; it is paced, so it may take a while. */
async function followBulkReplay(operationId) {
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    let progress;
    try {
      progress = await api(`/admin/operations/${encodeURIComponent(operationId)}`);
    } catch {
      return;
    }
    if (progress.status === 'running') {
      announce(status, `Bulk replay running: ${progress.done} of ${progress.total} replayed so far (see Operations).`);
      continue;
    }
    await search({ quiet: true });
    if (progress.status === 'completed')
      announce(status, `Bulk replay finished: ${describeCount(progress.done, 'dead letter')} replayed.`, 'success');
    else announce(status, `Bulk replay ${progress.status} after ${progress.done} of ${progress.total}.`, 'error');
    return;
  }
}

document.getElementById('replay-matching').addEventListener('click', async () => {
  const filter = replayFilter();
  announce(status, 'Counting the dead letters that match (dry run)…');
  try {
    const dryRun = await api('/admin/dead-letters/replay', { method: 'POST', body: { filter, dryRun: true } });
    const count = countOf(dryRun);
    if (count === 0) {
      announce(
        status,
        `Dry run: no replayable dead letters match these filters; nothing to replay.${skippedNote(dryRun)}`,
      );
      return;
    }
    announce(
      status,
      `Dry run: ${describeCount(count, 'pending dead letter')} would be replayed.${skippedNote(dryRun)}`,
    );
    const confirmed = await confirmAction({
      title: 'Replay every matching dead letter?',
      text: `Dry run: ${describeCount(count, 'pending dead letter')} matching the current filters would be replayed.${skippedNote(dryRun)} They are queued gradually so the queue is not flooded; replies already sent are not sent twice.`,
      confirmLabel: `Replay ${count}`,
    });
    if (!confirmed) {
      announce(status, 'Bulk replay cancelled; nothing was replayed.');
      return;
    }
    const result = await api('/admin/dead-letters/replay', { method: 'POST', body: { filter, dryRun: false } });
    announce(
      status,
      `Bulk replay started for ${describeCount(countOf(result), 'dead letter')}; they are queued gradually.`,
    );
    if (result?.operationId) await followBulkReplay(result.operationId);
    else await search({ quiet: true });
  } catch (error) {
    refuseOr(error);
  }
});

document.getElementById('purge-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const value = document.getElementById('purge-date').value;
  if (!value) {
    announce(status, 'Choose the date before which dead letters are purged.', 'error');
    return;
  }
  const olderThan = new Date(`${value}T00:00:00`).toISOString();
  const confirmed = await confirmAction({
    title: 'Purge dead letters permanently?',
    text: `Every dead letter created before ${value} 00:00 (${timeZone}) will be deleted, whatever its status, except those younger than the retention period. This cannot be undone; the purge is recorded in the audit log.`,
    confirmLabel: 'Purge',
    danger: true,
  });
  if (!confirmed) return;
  try {
    const result = await api('/admin/dead-letters', { method: 'DELETE', query: { olderThan, confirm: 'true' } });
    await search({ quiet: true });
    const purged = result?.deleted ?? 0;
    const clamped = result?.clampedToRetention
      ? ` The date was inside the ${result.retentionDays}-day retention period, so only dead letters created before ${formatTime(result.cutoff)} were purged.`
      : '';
    announce(status, `${describeCount(purged, 'dead letter')} purged.${clamped}`, 'success');
  } catch (error) {
    refuseOr(error);
  }
});

function detailList(letter) {
  const entries = [
    ['Id', letter.id, true],
    ['Event id', letter.eventId ? auditLink(letter.eventId) : undefined, true],
    ['Delivery id', letter.deliveryId, true],
    ['Endpoint id', letter.endpointId, true],
    ['Job id', letter.jobId, true],
    ['Correlation id', letter.correlationId, true],
    ['Source', letter.source],
    ['Provider', letter.provider],
    ['Category', letter.category],
    ['Error (sanitised)', letter.error],
    ['Attempts', letter.attempts],
    ['Status', letter.status],
    [`First failed (${timeZone})`, formatTime(letter.firstFailedAt)],
    [`Last failed (${timeZone})`, formatTime(letter.lastFailedAt)],
    ['Replays', letter.replayCount],
    [`Last replayed (${timeZone})`, letter.replayedAt ? formatTime(letter.replayedAt) : undefined],
  ];
  return el(
    'dl',
    { className: 'details summary' },
    entries
      .filter(([, value]) => value !== undefined && value !== null && value !== '')
      .flatMap(([label, value, mono]) => [
        el('dt', {}, label),
        el('dd', { className: mono ? 'mono' : undefined }, value),
      ]),
  );
}

const time = (value) => (value ? formatTime(value) : undefined);

/** A titled definition list of the figures that have a value. */
function section(id, title, figures) {
  const shown = figures.filter(([, value]) => value !== undefined && value !== null && value !== '');
  if (!shown.length) return '';
  return el(
    'section',
    { 'aria-labelledby': id },
    el('h3', { id }, title),
    el(
      'dl',
      { className: 'details' },
      shown.flatMap(([label, value]) => [el('dt', {}, label), el('dd', {}, value)]),
    ),
  );
}

/** The queue job behind a dead letter, when Redis still keeps it (failed jobs are kept for days, not forever). */
async function jobSection(letter) {
  const queue = QUEUE_OF_SOURCE[letter.source];
  if (!letter.jobId || !queue) return '';
  try {
    const job = await api(`/admin/jobs/${queue}/${encodeURIComponent(letter.jobId)}`);
    return section('job-title', 'Queue job', [
      ['Queue', job.queue],
      ['State', job.state],
      ['Attempts', job.maxAttempts ? `${job.attempts} of ${job.maxAttempts}` : job.attempts],
      [`Created (${timeZone})`, time(job.createdAt)],
      [`Last started (${timeZone})`, time(job.startedAt)],
      [`Finished (${timeZone})`, time(job.finishedAt)],
      ['Last error (sanitised)', job.lastError],
      [`Next retry (${timeZone})`, time(job.nextRetryAt)],
    ]);
  } catch (error) {
    if (error.status === 404) return el('p', { className: 'hint' }, 'The queue job is no longer kept in Redis.');
    return '';
  }
}

function relatedSections(letter) {
  const { event, reply, receipt } = letter;
  return [
    event
      ? section('event-title', 'Event', [
          ['Kind', event.kind],
          ['Status', event.status],
          ['Attempts', event.attempts],
          ['Priority', event.priority],
          [`Received (${timeZone})`, time(event.receivedAt)],
          [`Started (${timeZone})`, time(event.startedAt)],
          [`Finished (${timeZone})`, time(event.processedAt)],
          ['Last error category', event.lastErrorCategory],
        ])
      : '',
    reply
      ? section('reply-title', 'Automatic reply', [
          ['Status', reply.status],
          ['Attempts', reply.attempts],
          ['Last HTTP status', reply.lastHttpStatus],
          ['Last error category', reply.lastErrorCategory],
          [`Sent (${timeZone})`, time(reply.sentAt)],
        ])
      : '',
    receipt
      ? section('receipt-title', 'Webhook delivery', [
          [`Received (${timeZone})`, time(receipt.receivedAt)],
          ['Body size', receipt.bodyBytes !== undefined ? `${receipt.bodyBytes} bytes` : undefined],
          ['Events in body', receipt.eventCount],
          ['Parse error', receipt.parseError],
        ])
      : '',
  ];
}

async function inspect(id) {
  const opener = document.activeElement;
  inspectBody.replaceChildren(el('p', {}, 'Loading…'));
  inspectDialog.showModal();
  inspectDialog.addEventListener('close', () => opener?.focus?.(), { once: true });
  try {
    const letter = await api(`/admin/dead-letters/${encodeURIComponent(id)}`);
    const job = await jobSection(letter);
    const payloadArea = el('div', { 'aria-live': 'polite' });
    const reasonInput = el('input', {
      id: 'payload-reason',
      type: 'text',
      maxLength: 500,
      required: true,
      placeholder: 'e.g. ticket 4411: the reply never arrived',
    });
    const showPayload = el(
      'button',
      {
        type: 'button',
        className: 'secondary',
        'aria-describedby': 'payload-warning',
        onclick: async () => {
          const reason = reasonInput.value.trim();
          if (!reason) {
            payloadArea.replaceChildren(
              el(
                'p',
                { className: 'status', 'data-kind': 'error' },
                'Say why you open it: the reason goes into the audit log.',
              ),
            );
            reasonInput.focus();
            return;
          }
          showPayload.disabled = true;
          try {
            const content = await api(
              `/admin/dead-letters/${encodeURIComponent(id)}/payload?reason=${encodeURIComponent(reason)}`,
            );
            const text =
              content?.payload !== undefined && content?.payload !== null
                ? JSON.stringify(content.payload, null, 2)
                : (content?.receiptBody ?? 'No stored content.');
            const pre = el('pre', { className: 'payload', tabindex: 0, 'aria-label': 'Payload' }, text);
            payloadArea.replaceChildren(
              el('h3', {}, content?.payload ? 'Event payload' : 'Webhook body as received'),
              pre,
            );
            showPayload.textContent = 'Payload shown (view recorded)';
            // The button is now disabled: keep keyboard focus inside the dialog, on what was just shown.
            pre.focus();
          } catch (error) {
            payloadArea.replaceChildren(el('p', { className: 'status', 'data-kind': 'error' }, error.message));
            showPayload.disabled = false;
          }
        },
      },
      'Show payload',
    );
    inspectBody.replaceChildren(
      detailList(letter),
      letter.source === 'outbound'
        ? el(
            'p',
            { className: 'hint' },
            'A failed outbound delivery is not replayed through the inbound pipeline: “Retry delivery” sends it again to its endpoint.',
          )
        : '',
      el(
        'p',
        { id: 'payload-warning', className: 'warning' },
        'The payload may contain patient message text. Opening it is recorded in the audit log under your key’s name, with your reason; open it only when you need it.',
      ),
      el('label', { for: 'payload-reason' }, 'Reason for opening it'),
      reasonInput,
      el(
        'div',
        { className: 'actions' },
        showPayload,
        replayable(letter)
          ? el('button', { type: 'button', onclick: () => replayOne(letter.id) }, 'Replay this dead letter')
          : '',
        retryable(letter)
          ? el('button', { type: 'button', onclick: () => retryDelivery(letter) }, 'Retry delivery')
          : '',
      ),
      payloadArea,
      el('div', { className: 'related' }, ...relatedSections(letter), job),
    );
    document.getElementById('inspect-title').textContent = `Dead letter · ${letter.category}`;
  } catch (error) {
    inspectBody.replaceChildren(el('p', { className: 'status', 'data-kind': 'error' }, error.message));
  }
}

selectAll.addEventListener('change', () => {
  for (const box of rows.querySelectorAll('input[type=checkbox]')) {
    box.checked = selectAll.checked;
    const id = box.closest('tr').dataset.id;
    if (selectAll.checked) selected.add(id);
    else selected.delete(id);
  }
  updateSelection();
});

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
    announce(status, `Showing ${describeCount(shown, 'dead letter')}${nextCursor ? '; more are available' : ''}.`);
  } catch (error) {
    refuseOr(error);
  } finally {
    loadMore.disabled = false;
  }
});

if (setUpPage('dead-letters')) {
  for (const span of document.querySelectorAll('.tz')) span.textContent = `(${timeZone})`;
  restoreForm(form);
  void search();
}
