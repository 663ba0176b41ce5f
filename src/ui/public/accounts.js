import { announce, api, el, formatTime, isoFromLocalInput, setUpPage, showRefusal, timeZone } from '/ui/common.js';

const STATUS_TONES = { active: 'good', paused: 'warn', needs_token: 'bad' };
const STATUS_TEXT = { active: 'active', paused: 'paused', needs_token: 'needs a token' };
const PROVIDER_TEXT = { instagram: 'Instagram', facebook: 'Facebook page', whatsapp: 'WhatsApp' };
const DAY_MS = 24 * 3600 * 1000;

const main = document.getElementById('main');
const rows = document.getElementById('rows');
const status = document.getElementById('status');
const environment = document.getElementById('environment');
const addForm = document.getElementById('add-form');
const tokenDialog = document.getElementById('token-dialog');
const tokenForm = document.getElementById('token-form');
const updated = document.getElementById('updated');
/** The account whose token the dialog changes, and the button that opened it (focus goes back there). */
let editing = null;

const path = (account, action = '') =>
  `/admin/accounts/${encodeURIComponent(account.provider)}/${encodeURIComponent(account.accountId)}${action}`;
const nameOf = (account) => account.displayName || account.accountId;

function refuseOr(error) {
  if (error.status === 401 || error.status === 403) showRefusal(main, error);
  else announce(status, error.message, 'error');
}

/** `2026-03-01 00:00:00 (in 12 days)`: when the token expires, and how soon. */
function expiry(account) {
  if (account.tokenSource === 'environment') return 'environment token';
  if (!account.tokenExpiresAt) return 'no expiry known';
  const days = Math.floor((Date.parse(account.tokenExpiresAt) - Date.now()) / DAY_MS);
  const left = days < 0 ? 'expired' : days === 0 ? 'today' : `in ${days} day${days === 1 ? '' : 's'}`;
  return el('span', { className: days < 10 ? 'soon' : undefined }, `${formatTime(account.tokenExpiresAt)} (${left})`);
}

function actionButton(label, accessibleName, onclick, className = 'secondary small') {
  return el('button', { type: 'button', className, 'aria-label': accessibleName, onclick }, label);
}

function row(account) {
  const name = nameOf(account);
  const actions = [
    account.status === 'paused'
      ? actionButton(
          'Resume',
          `Resume ${name}`,
          () => change(account, '/resume', `${name} resumed: its held replies are being sent.`),
          'small',
        )
      : actionButton('Pause', `Pause ${name}`, () =>
          change(account, '/pause', `${name} paused: its replies are held.`),
        ),
    actionButton('New token…', `Set a new token for ${name}`, (event) => openTokenDialog(account, event.currentTarget)),
  ];
  if (account.provider === 'instagram' && account.tokenSource === 'account') {
    actions.push(
      actionButton('Refresh token', `Refresh the token of ${name}`, () =>
        change(account, '/refresh-token', `The token of ${name} was refreshed.`),
      ),
    );
  }
  return el(
    'tr',
    { 'data-account': `${account.provider}:${account.accountId}` },
    el(
      'td',
      {},
      el('div', {}, name),
      el(
        'div',
        { className: 'hint' },
        `${PROVIDER_TEXT[account.provider] ?? account.provider} · `,
        el('span', { className: 'id' }, account.accountId),
      ),
    ),
    el(
      'td',
      {},
      el(
        'span',
        { className: 'pill', 'data-tone': STATUS_TONES[account.status] },
        STATUS_TEXT[account.status] ?? account.status,
      ),
    ),
    el('td', { className: 'nowrap' }, account.tokenSource === 'account' ? 'its own' : 'environment'),
    el('td', { className: 'nowrap' }, expiry(account)),
    el('td', { className: 'nowrap' }, formatTime(account.tokenRefreshedAt)),
    el('td', { className: 'num', 'data-figure': 'held' }, String(account.heldReplies ?? 0)),
    el('td', { className: 'nowrap' }, ...actions.flatMap((button) => [button, ' '])),
  );
}

function render(list) {
  const items = list?.items ?? [];
  rows.replaceChildren(...items.map(row));
  if (items.length === 0) {
    rows.append(
      el(
        'tr',
        {},
        el(
          'td',
          { colspan: 7, className: 'empty' },
          'No accounts yet: every reply uses its provider’s environment token.',
        ),
      ),
    );
  }
  const tokens = Object.entries(list?.environmentTokens ?? {})
    .filter(([, present]) => present)
    .map(([provider]) => PROVIDER_TEXT[provider] ?? provider);
  environment.textContent = tokens.length
    ? `Accounts not listed here reply with the environment token of: ${tokens.join(', ')}.`
    : 'No environment token is set: accounts not listed here cannot reply.';
}

async function load() {
  try {
    render(await api('/admin/accounts'));
    updated.textContent = `Updated ${formatTime(new Date())}`;
  } catch (error) {
    refuseOr(error);
  }
}

async function change(account, action, done) {
  try {
    await api(path(account, action), { method: 'POST' });
    await load();
    announce(status, done, 'success');
  } catch (error) {
    refuseOr(error);
  }
}

function openTokenDialog(account, opener) {
  editing = { account, opener };
  document.getElementById('token-for').textContent =
    `For ${nameOf(account)} (${account.provider} ${account.accountId}).`;
  tokenForm.reset();
  tokenDialog.showModal();
  document.getElementById('token-value').focus();
}

tokenDialog.querySelector('[data-close]').addEventListener('click', () => tokenDialog.close());
// The list may have been drawn again meanwhile: focus returns to the same button in the new rows.
tokenDialog.addEventListener('close', () => {
  const label = editing?.opener?.getAttribute('aria-label');
  const opener = editing?.opener?.isConnected
    ? editing.opener
    : [...rows.querySelectorAll('button')].find((button) => button.getAttribute('aria-label') === label);
  opener?.focus();
  editing = null;
});

tokenForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!editing) return;
  const accessToken = tokenForm.elements.accessToken.value.trim();
  if (!accessToken) {
    announce(status, 'Paste the new token first.', 'error');
    return;
  }
  const { account } = editing;
  try {
    const expires = isoFromLocalInput(tokenForm.elements.tokenExpiresAt.value);
    await api(path(account), { method: 'PATCH', body: { accessToken, tokenExpiresAt: expires ?? null } });
    await load();
    tokenForm.reset();
    tokenDialog.close();
    announce(status, `New token saved for ${nameOf(account)}; replies held for a token are being sent.`, 'success');
  } catch (error) {
    refuseOr(error);
  }
});

addForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const fields = addForm.elements;
  const body = {
    provider: fields.provider.value,
    accountId: fields.accountId.value.trim(),
    accessToken: fields.accessToken.value.trim(),
  };
  if (!body.accountId || !body.accessToken) {
    announce(status, 'An account id and an access token are needed.', 'error');
    (body.accountId ? fields.accessToken : fields.accountId).focus();
    return;
  }
  const displayName = fields.displayName.value.trim();
  if (displayName) body.displayName = displayName;
  const expires = isoFromLocalInput(fields.tokenExpiresAt.value);
  if (expires) body.tokenExpiresAt = expires;
  try {
    await api('/admin/accounts', { method: 'POST', body });
    addForm.reset();
    await load();
    announce(status, `Account ${displayName || body.accountId} added.`, 'success');
  } catch (error) {
    refuseOr(error);
  }
});

document.getElementById('reload').addEventListener('click', () => void load());

if (setUpPage('accounts')) {
  for (const zone of document.querySelectorAll('.tz')) zone.textContent = `(${timeZone})`;
  void load();
}
