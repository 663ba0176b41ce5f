import { announce, api, ApiError, el, session, setUpPage } from '/ui/common.js';

const form = document.getElementById('sign-in-form');
const input = document.getElementById('api-key');
const status = document.getElementById('status');
const signedIn = document.getElementById('signed-in');

const ROLE_TEXT = {
  ops: 'This is an ops key: you can read the audit log, inspect, replay and purge dead letters, watch the queues, and manage the clinic’s accounts.',
  staff: 'This is a clinic staff key: you can search and export the audit log.',
};
const LINKS = {
  ops: [
    ['/ui/audit', 'Audit log'],
    ['/ui/dead-letters', 'Dead letters'],
    ['/ui/queues', 'Queues'],
    ['/ui/accounts', 'Accounts'],
  ],
  staff: [['/ui/audit', 'Audit log']],
};

/** What a route answers for this key: 'allowed', 'forbidden' (403) or 'unknown-key' (401). */
async function probe(path, key) {
  try {
    await api(path, { key, query: { limit: 1 } });
    return 'allowed';
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return 'unknown-key';
    if (error instanceof ApiError && error.status === 403) return 'forbidden';
    // Guards run before validation: a 400 still means the key was let through.
    if (error instanceof ApiError && error.status === 400) return 'allowed';
    throw error;
  }
}

/** The role is found by asking the routes themselves: the server stays the only judge of what a key may do. */
async function roleOf(key) {
  const audit = await probe('/audit-logs', key);
  if (audit === 'unknown-key') return 'unknown-key';
  const ops = await probe('/admin/dead-letters', key);
  if (ops === 'allowed') return 'ops';
  return audit === 'allowed' ? 'staff' : 'other';
}

function showSignedIn(role) {
  document.getElementById('role-summary').textContent = ROLE_TEXT[role];
  document
    .getElementById('page-links')
    .replaceChildren(...LINKS[role].map(([href, label]) => el('li', {}, el('a', { href }, label))));
  signedIn.hidden = false;
  form.querySelector('button[type=submit]').textContent = 'Sign in with another key';
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const key = input.value.trim();
  if (!key) {
    announce(status, 'Paste an API key first.', 'error');
    input.focus();
    return;
  }
  const button = form.querySelector('button[type=submit]');
  button.disabled = true;
  announce(status, 'Checking the key…');
  try {
    const role = await roleOf(key);
    if (role === 'unknown-key') {
      announce(status, 'This key was not accepted (401): it may be mistyped, revoked or expired.', 'error');
      input.select();
      return;
    }
    if (role === 'other') {
      announce(
        status,
        'This key is valid but cannot open these pages (403): it is neither a staff nor an ops key.',
        'error',
      );
      return;
    }
    session.save(key, role);
    input.value = '';
    const next = new URLSearchParams(location.search).get('next');
    if (next && next.startsWith('/ui/') && (role === 'ops' || next.startsWith('/ui/audit'))) {
      location.assign(next);
      return;
    }
    setUpPage('sign-in');
    announce(status, `Signed in with ${role === 'ops' ? 'an' : 'a'} ${role} key.`, 'success');
    showSignedIn(role);
  } catch (error) {
    announce(status, error.message, 'error');
  } finally {
    button.disabled = false;
  }
});

setUpPage('sign-in');
if (session.role() && ROLE_TEXT[session.role()]) showSignedIn(session.role());
input.focus();
