// Shared by every page: the pasted key (sessionStorage), calls to the JSON routes, the page header and status messages.
const KEY = 'switchboard.apiKey';
const ROLE = 'switchboard.role';

export const session = {
  key: () => sessionStorage.getItem(KEY),
  role: () => sessionStorage.getItem(ROLE),
  save(key, role) {
    sessionStorage.setItem(KEY, key);
    sessionStorage.setItem(ROLE, role);
  },
  clear() {
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(ROLE);
  },
};

/** A refused or failed call, with the server's message (the JSON error body) when there is one. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Calls a JSON route with the pasted key. `query` drops empty values. Resolves with the parsed body. */
export async function api(path, { method = 'GET', query, body, key = session.key(), raw = false } = {}) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, String(value));
  }
  const headers = { accept: raw ? '*/*' : 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'The server could not be reached. Check your connection and try again.');
  }
  if (!response.ok) throw new ApiError(response.status, await errorMessage(response));
  if (raw) return response;
  if (response.status === 204) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

async function errorMessage(response) {
  let detail = '';
  try {
    const body = await response.json();
    detail = Array.isArray(body.message) ? body.message.join('; ') : (body.message ?? '');
  } catch {
    detail = response.statusText;
  }
  if (response.status === 401)
    return 'Your API key was not accepted (401): it may be mistyped, revoked or expired. Sign in again.';
  if (response.status === 403)
    return `Your API key does not have the role this needs (403)${detail ? `: ${detail}` : ''}.`;
  return `The server answered ${response.status}${detail ? `: ${detail}` : ''}.`;
}

/** Builds an element; children are nodes or text (never parsed as HTML). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (name === 'className') node.className = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Shows a message in a page's status region (role=status / aria-live), styled by kind. */
export function announce(region, message, kind = 'info') {
  region.hidden = !message;
  region.dataset.kind = kind;
  region.textContent = message ?? '';
}

/** `2026-11-22 06:10:03` in the viewer's time zone (the time zone is named in each page's column header). */
export function formatTime(value) {
  if (!value) return '—';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

export const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

/** A `datetime-local` input's value as an ISO instant (the input is in the viewer's time zone). */
export function isoFromLocalInput(value) {
  if (!value) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** The filters of a form as an object of non-empty strings; datetime-local fields become ISO instants. */
export function formValues(form) {
  const values = {};
  for (const field of form.elements) {
    if (!field.name || field.type === 'submit' || field.type === 'button') continue;
    const value = field.type === 'datetime-local' ? isoFromLocalInput(field.value) : field.value.trim();
    if (value) values[field.name] = value;
  }
  return values;
}

/** Fills a form from the page address (so a filtered view can be bookmarked or shared) and back. */
export function restoreForm(form) {
  const params = new URLSearchParams(location.search);
  for (const field of form.elements) {
    if (!field.name || !params.has(field.name)) continue;
    field.value = params.get(field.name);
  }
}

export function rememberForm(form) {
  const params = new URLSearchParams();
  for (const field of form.elements) {
    if (field.name && field.value.trim()) params.set(field.name, field.value.trim());
  }
  const search = params.toString();
  history.replaceState(null, '', search ? `${location.pathname}?${search}` : location.pathname);
}

const PAGES = [
  { id: 'audit', href: '/ui/audit', label: 'Audit log', roles: ['staff', 'ops'] },
  { id: 'dead-letters', href: '/ui/dead-letters', label: 'Dead letters', roles: ['ops'] },
  { id: 'queues', href: '/ui/queues', label: 'Queues', roles: ['ops'] },
  { id: 'accounts', href: '/ui/accounts', label: 'Accounts', roles: ['ops'] },
  { id: 'operations', href: '/ui/operations', label: 'Operations', roles: ['ops'] },
  { id: 'access-report', href: '/ui/access-report', label: 'Access report', roles: ['ops'] },
];

/**
 * Fills the page header: navigation for the signed-in role, the role, and sign-out. Without a key,
 * sends the visitor to the sign-in page (and back here afterwards). Returns the role, or null.
 */
export function setUpPage(pageId) {
  const role = session.role();
  if (pageId !== 'sign-in' && !session.key()) {
    location.replace(`/ui?next=${encodeURIComponent(location.pathname + location.search)}`);
    return null;
  }
  const nav = document.getElementById('site-nav');
  const list = el('ul');
  for (const page of PAGES) {
    if (role && !page.roles.includes(role)) continue;
    if (!role) continue;
    list.append(
      el('li', {}, el('a', { href: page.href, 'aria-current': page.id === pageId ? 'page' : undefined }, page.label)),
    );
  }
  nav.replaceChildren(list);
  const account = document.getElementById('account');
  if (role) {
    account.replaceChildren(
      el('span', { className: 'role-badge' }, `Signed in: ${role} key`),
      el(
        'button',
        {
          type: 'button',
          className: 'secondary',
          onclick: () => {
            session.clear();
            location.assign('/ui');
          },
        },
        'Sign out',
      ),
    );
  } else {
    account.replaceChildren();
  }
  return role;
}

/** What a refused page shows instead of its content, with a way back. */
export function showRefusal(main, error) {
  const signIn = el('a', { href: '/ui' }, 'Sign in with another key');
  const box = el(
    'section',
    { className: 'refusal', role: 'alert', 'aria-labelledby': 'refusal-title' },
    el(
      'h2',
      { id: 'refusal-title' },
      error.status === 403 ? 'This page needs an ops key' : 'Your key was not accepted',
    ),
    el('p', {}, error.message),
    el('p', {}, signIn),
  );
  main.replaceChildren(main.querySelector('h1') ?? '', box);
}

/** Saves a response body as a file (the key is sent as a header, so a plain link cannot download it). */
export async function saveResponse(response, fallbackName) {
  const disposition = response.headers.get('content-disposition') ?? '';
  const match = /filename="?([^";]+)"?/i.exec(disposition);
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = el('a', { href: url, download: match ? match[1] : fallbackName });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return blob.size;
}

export function describeCount(n, singular, plural = `${singular}s`) {
  return `${n} ${n === 1 ? singular : plural}`;
}
