import { announce, api, el, formatTime, setUpPage, showRefusal } from '/ui/common.js';

const POLL_MS = 3000;
const HISTORY = 60;
const SVG = 'http://www.w3.org/2000/svg';
const FIGURES = [
  ['waiting', 'Waiting'],
  ['prioritized', 'Prioritised (VIP)'],
  ['active', 'Active'],
  ['delayed', 'Delayed (retry)'],
  ['failed', 'Failed jobs'],
  ['completed', 'Completed'],
  ['deadLetters', 'Dead letters', 'bad'],
  ['failuresLast15Minutes', 'Failures, last 15 min', 'bad'],
  ['averageMs', 'Average processing', 'ms'],
  ['p95Ms', 'p95 processing', 'ms'],
  ['throughputLastMinute', 'Finished, last minute'],
];

const main = document.getElementById('main');
const container = document.getElementById('queues');
const status = document.getElementById('status');
const updated = document.getElementById('updated');
const pause = document.getElementById('pause');
/** name → { samples: [{at, perMinute}], card elements } */
const queues = new Map();
let paused = false;
let timer;
let lastError = '';

/** Jobs per minute: the server's figure when it gives one, else the change in completed jobs since the last poll. */
function perMinute(queue, previous, at) {
  if (typeof queue.throughputLastMinute === 'number') return queue.throughputLastMinute;
  if (!previous || typeof queue.completed !== 'number' || typeof previous.completed !== 'number') return 0;
  const minutes = (at - previous.at) / 60000;
  return minutes > 0 ? Math.max(0, (queue.completed - previous.completed) / minutes) : 0;
}

/** A figure by key; processing times sit under `processing`. */
function figureValue(queue, key, unit) {
  const value = queue[key] ?? queue.processing?.[key];
  if (value === undefined || value === null) return '—';
  if (unit === 'ms') return `${Math.round(value)} ms`;
  return Math.round(value).toLocaleString();
}

function svg(tag, attributes = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

/** A small line chart of jobs per minute over the readings so far (up to a few minutes), drawn as inline SVG. */
function drawChart(chart, samples, name) {
  const width = Math.max(320, Math.round(chart.getBoundingClientRect().width) || 640);
  const height = 180;
  const left = 44;
  const right = 12;
  const bottom = 22;
  const top = 10;
  chart.setAttribute('viewBox', `0 0 ${width} ${height}`);
  const values = samples.map((sample) => sample.perMinute);
  const peak = Math.max(2, ...values);
  const magnitude = 10 ** Math.floor(Math.log10(peak));
  // An even top keeps the middle grid line on a whole number.
  const max = Math.ceil(peak / magnitude) * magnitude + (Math.ceil(peak / magnitude) % 2 && magnitude === 1 ? 1 : 0);
  const span = Math.max(1, samples.length - 1);
  const x = (i) => left + ((width - left - right) * i) / span;
  const y = (v) => top + (height - top - bottom) * (1 - v / max);
  const text = (attributes, content) => {
    const node = svg('text', { class: 'axis-label', ...attributes });
    node.textContent = content;
    return node;
  };
  const nodes = [];
  for (const fraction of [0, 0.5, 1]) {
    const value = max * fraction;
    nodes.push(svg('line', { class: 'grid-line', x1: left, x2: width - right, y1: y(value), y2: y(value) }));
    nodes.push(text({ x: left - 6, y: y(value) + 4, 'text-anchor': 'end' }, Math.round(value).toLocaleString()));
  }
  const age = samples.length ? Math.round((Date.now() - samples[0].at) / 1000) : 0;
  nodes.push(text({ x: left, y: height - 5 }, age >= 60 ? `${Math.round(age / 60)} min ago` : `${age} s ago`));
  nodes.push(text({ x: width - right, y: height - 5, 'text-anchor': 'end' }, 'now'));
  if (samples.length > 1) {
    const points = values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`);
    const base = y(0).toFixed(1);
    nodes.push(
      svg('polygon', {
        class: 'area',
        points: `${x(0).toFixed(1)},${base} ${points.join(' ')} ${x(span).toFixed(1)},${base}`,
      }),
    );
    nodes.push(svg('polyline', { class: 'series', points: points.join(' ') }));
  }
  const title = svg('title', { id: `chart-title-${name}` });
  title.textContent = `Jobs completed per minute on ${name}`;
  const desc = svg('desc', { id: `chart-desc-${name}` });
  desc.textContent = `Latest ${Math.round(values.at(-1) ?? 0)} per minute; peak ${Math.round(Math.max(0, ...values))} over the last ${samples.length} readings.`;
  chart.replaceChildren(title, desc, ...nodes);
}

function card(name) {
  const figures = el('div', { className: 'queue-grid' });
  const chart = svg('svg', {
    class: 'chart',
    role: 'img',
    'aria-labelledby': `chart-title-${name} chart-desc-${name}`,
  });
  const section = el(
    'section',
    { className: 'card', 'aria-labelledby': `queue-${name}` },
    el('h2', { id: `queue-${name}` }, name),
    figures,
    el('h3', { className: 'hint' }, 'Jobs completed per minute'),
    chart,
  );
  container.append(section);
  return { figures, chart, samples: [], previous: null };
}

function render(list) {
  const at = Date.now();
  for (const queue of list) {
    const name = queue.name ?? 'queue';
    if (!queues.has(name)) queues.set(name, card(name));
    const state = queues.get(name);
    state.samples.push({ at, perMinute: perMinute(queue, state.previous, at) });
    if (state.samples.length > HISTORY) state.samples.shift();
    state.previous = { at, completed: queue.completed };
    state.figures.replaceChildren(
      ...FIGURES.map(([key, label, tone]) =>
        el(
          'div',
          { className: 'figure', 'data-tone': tone === 'bad' && Number(queue[key]) > 0 ? 'bad' : undefined },
          el('span', { className: 'label' }, label),
          el('span', { className: 'value', 'data-figure': key }, figureValue(queue, key, tone)),
        ),
      ),
    );
    drawChart(state.chart, state.samples, name);
  }
}

async function poll() {
  clearTimeout(timer);
  try {
    const body = await api('/admin/queues');
    render(body?.queues ?? []);
    updated.textContent = `Updated ${formatTime(body?.generatedAt ?? new Date())}`;
    const problem =
      body?.redisConnected === false ? 'Redis did not answer: job counts are unavailable (shown as —).' : '';
    if (problem && problem !== lastError) announce(status, problem, 'error');
    else if (!problem && lastError) announce(status, 'Connection restored; counts are live again.', 'success');
    lastError = problem;
  } catch (error) {
    if (error.status === 401 || error.status === 403) {
      showRefusal(main, error);
      return;
    }
    // Announced once, not at every failed poll.
    if (error.message !== lastError) announce(status, error.message, 'error');
    lastError = error.message;
  }
  if (!paused && !document.hidden) timer = setTimeout(poll, POLL_MS);
}

pause.addEventListener('click', () => {
  paused = !paused;
  pause.textContent = paused ? 'Resume updates' : 'Pause updates';
  announce(status, paused ? 'Updates paused.' : 'Updates resumed.');
  if (!paused) void poll();
  else clearTimeout(timer);
});

document.addEventListener('visibilitychange', () => {
  if (!document.hidden && !paused) void poll();
});

if (setUpPage('queues')) void poll();
