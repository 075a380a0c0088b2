'use strict';
// ringchat's chat page, and a reference client for docs/PROTOCOL.md.
//
// Two transports, one model:
//   ws   a JSON socket on /ws: join/leave/pub/history/presence ops, `msg`
//        envelopes, presence events; the token (if any) in the
//        Sec-WebSocket-Protocol list as "bearer.<token>".
//   sse  an EventSource per room on /sse/{room} for receiving (?token=),
//        POST /rooms/{room}/messages for sending (Authorization: Bearer),
//        GET /rooms/{room}/messages and /presence for history and members.
//
// Every room keeps its position, EPOCH:SEQ of the last message shown. After
// a lost connection the page waits (exponential backoff with full jitter,
// capped; or the server's retry_ms when it said it was draining), then
// joins again with `since` = that position: the server replays what was
// missed, and says whether everything was still there (`recovered`). The
// page tells which: "N messages recovered", or that history did not reach
// back. Messages are kept by seq, so a replay never shows one twice.
//
// URL parameters preset the form: ?room=a&room=b&transport=sse&token=...
// (the rooms are joined at once).

// ---- reconnecting ----

// Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"):
// wait a uniform random time in [0, min(cap, base * 2^attempt)), so
// clients that lost the server together do not come back together.
const BACKOFF_BASE_MS = 250;
const BACKOFF_CAP_MS = 8000;
function backoffMs(attempt) {
  return Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
}

const HISTORY_ON_JOIN = 100;  // messages shown when a room is first joined
const SHOWN_MAX = 1000;       // messages kept on the page per room

// ---- state ----

// name -> Room. Room: {name, epoch, seq (the last seq shown), msgs (shown,
// in order: {epoch, seq, ts, from, text}), members: Map id -> user, joined,
// unread, everJoined, es (its EventSource, sse)}.
const rooms = new Map();
let current = null;  // the room shown
let transport = 'ws';
let token = '';
let conn = null;     // the transport's connection object (see connectWs, connectSse)
let attempt = 0;     // failed connects since the last good one
let retryTimer = 0;
let nextId = 1;      // op ids (JSON socket)

const $ = (id) => document.getElementById(id);

// ---- rooms and messages ----

function position(room) {
  return room.epoch ? `${room.epoch}:${room.seq}` : null;
}

function newRoom(name) {
  return { name, epoch: null, seq: 0, msgs: [], members: new Map(), joined: false,
    unread: 0, everJoined: false, es: null };
}

// What a message's data shows: a JSON {text} as its text, a string as it
// is, anything else as JSON.
function textOf(data) {
  if (data && typeof data === 'object' && typeof data.text === 'string') return data.text;
  if (typeof data === 'string') return data;
  return JSON.stringify(data);
}

// Adds a message of `room` unless it is shown already. Within an epoch
// messages go by seq (history may come after the first live ones);
// a new epoch starts after the old one's messages.
function addMessage(room, epoch, m) {
  if (room.epoch && epoch !== room.epoch) {
    room.msgs.push({ divider: `history of ${room.name} was lost: a new sequence starts` });
    room.seq = 0;
  }
  room.epoch = epoch;
  const same = room.msgs.filter((x) => !x.divider && x.epoch === epoch);
  if (same.some((x) => x.seq === m.seq)) return false;
  const msg = { epoch, seq: m.seq, ts: m.ts, from: m.from, text: textOf(m.data !== undefined ? m.data : m.data_base64) };
  if (m.seq > room.seq) room.seq = m.seq;
  // Usually the newest: appended (one more line on the page); else, as
  // history arriving after the first live ones, put before the first later
  // one (the room drawn again).
  const later = same.find((x) => x.seq > m.seq);
  if (later) {
    room.msgs.splice(room.msgs.indexOf(later), 0, msg);
    trim(room);
    render(room);
  } else {
    room.msgs.push(msg);
    trim(room);
    if (room === current) {
      appendItem(msg);
    } else {
      room.unread++;
      renderRooms();
    }
  }
  return true;
}

// At most SHOWN_MAX messages per room: the oldest go (from the page too).
function trim(room) {
  const over = room.msgs.length - SHOWN_MAX;
  if (over <= 0) return;
  room.msgs.splice(0, over);
  if (room !== current) return;
  for (let i = 0; i < over && $('messages').firstChild; i++) $('messages').firstChild.remove();
}

function appendItem(m) {
  const list = $('messages');
  // Follow the conversation only if the reader is at the bottom already.
  const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.append(messageItem(m));
  if (atEnd) list.scrollTop = list.scrollHeight;
}

// A join (or a resume) answered: `r` is {epoch, seq, recovered} (the
// JSON socket's `joined`, or the SSE stream's `joined` event). `since` is
// the position we asked from (null for a first join).
function joined(room, r, since) {
  room.joined = true;
  attempt = 0;  // a good connection: the next loss backs off from the start
  if (since) {
    const [epoch, seq] = since.split(':');
    if (r.recovered) {
      const n = r.seq - Number(seq);
      notice(room, `reconnected to ${room.name}: ${n} message${n === 1 ? '' : 's'} recovered`, 'good');
    } else if (r.epoch !== epoch) {
      notice(room, `reconnected to ${room.name}: history did not reach back (the server lost the room's history); messages may be missing`, 'bad');
    } else {
      notice(room, `reconnected to ${room.name}: history did not reach back (seq ${seq} is gone); messages may be missing`, 'bad');
    }
  } else {
    notice(room, `joined ${room.name}`);
  }
  if (room.epoch && r.epoch !== room.epoch) {
    // Another epoch: the seqs start again; what was shown stays above.
    room.msgs.push({ divider: `history of ${room.name} was lost: a new sequence starts` });
    room.seq = 0;
  }
  room.epoch = r.epoch;
  room.everJoined = true;
  setConn('open', `connected (${transport === 'ws' ? 'WebSocket' : 'SSE + POST'})`);
  render(room);
}

// ---- the page ----

function notice(room, text, kind) {
  const li = document.createElement('li');
  li.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  if (kind) li.className = kind;
  li.dataset.room = room ? room.name : '';
  $('notices').append(li);
  while ($('notices').children.length > 50) $('notices').firstChild.remove();
}

function setConn(state, text) {
  $('conn').dataset.state = state;
  $('conn').textContent = text;
}

function render(room) {
  renderRooms();
  if (room !== current) return;
  $('room-title').textContent = room ? `Room ${room.name}` : 'No room yet';
  const list = $('messages');
  list.replaceChildren(...(room ? room.msgs.map(messageItem) : []));
  list.scrollTop = list.scrollHeight;
  renderMembers(room);
  const can = !!(room && room.joined);
  $('text').disabled = !can;
  $('send-form').querySelector('button').disabled = !can;
}

function renderMembers(room) {
  if (room !== current) return;
  const members = room ? [...room.members] : [];
  $('count').textContent = room ? `(${members.length})` : '';
  $('members').replaceChildren(...members.map(([id, user]) => {
    const li = document.createElement('li');
    li.textContent = user ? `${user} (${id})` : id;
    return li;
  }));
}

function messageItem(m) {
  const li = document.createElement('li');
  if (m.divider) {
    li.className = 'divider';
    li.textContent = m.divider;
    return li;
  }
  li.dataset.seq = m.seq;
  const meta = document.createElement('span');
  meta.className = 'meta';
  const when = m.ts ? new Date(m.ts).toLocaleTimeString() : '';
  meta.textContent = `#${m.seq} ${when} ${m.from || ''}`.trim();
  const text = document.createElement('span');
  text.className = 'text';
  text.textContent = m.text;
  li.append(meta, text);
  return li;
}

function renderRooms() {
  $('rooms').replaceChildren(...[...rooms.values()].map((room) => {
    const li = document.createElement('li');
    const show = document.createElement('button');
    show.type = 'button';
    show.textContent = room.name;
    if (room.unread) {
      const u = document.createElement('span');
      u.className = 'unread';
      u.textContent = ` ${room.unread} new`;
      show.append(u);
    }
    show.setAttribute('aria-current', room === current ? 'true' : 'false');
    show.addEventListener('click', () => { current = room; room.unread = 0; render(room); });
    const leave = document.createElement('button');
    leave.type = 'button';
    leave.className = 'link';
    leave.textContent = '×';
    leave.setAttribute('aria-label', `leave ${room.name}`);
    leave.addEventListener('click', () => leaveRoom(room));
    li.append(show, leave);
    return li;
  }));
}

// ---- JSON socket (ws) ----

function wsUrl(path) {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;
}

function connectWs() {
  // Browsers cannot set headers on a WebSocket: the token travels as a
  // subprotocol, next to "ringchat" which the server answers with.
  const ws = token ? new WebSocket(wsUrl('/ws'), ['ringchat', `bearer.${token}`])
    : new WebSocket(wsUrl('/ws'));
  const c = { kind: 'ws', ws, retryMs: null, pending: new Map() };
  conn = c;
  ws.onopen = () => { for (const room of rooms.values()) wsJoin(c, room); };
  ws.onmessage = (e) => { if (conn === c) onWsMessage(c, JSON.parse(e.data)); };
  ws.onclose = (e) => { if (conn === c) lost(`the connection closed (${e.code}${e.reason ? `: ${e.reason}` : ''})`, c.retryMs); };
}

function send(c, op) {
  if (c.ws.readyState === WebSocket.OPEN) c.ws.send(JSON.stringify(op));
}

// Joins `room`, from its position if it has one (a resume).
function wsJoin(c, room) {
  const since = position(room);
  const id = `j${nextId++}`;
  c.pending.set(id, { room: room.name, since });
  send(c, since ? { type: 'join', room: room.name, since, id } : { type: 'join', room: room.name, id });
}

function onWsMessage(c, m) {
  const room = m.room !== undefined ? rooms.get(m.room) : null;
  switch (m.type) {
    case 'joined': {
      const p = c.pending.get(m.id);
      c.pending.delete(m.id);
      if (!room) return;
      joined(room, m, p ? p.since : null);
      // A first join shows the recent past; a resume got it replayed.
      if (!p || !p.since) send(c, { type: 'history', room: room.name, limit: HISTORY_ON_JOIN });
      send(c, { type: 'presence', room: room.name });
      return;
    }
    case 'msg':
      if (room && room.joined) addMessage(room, room.epoch, m);
      return;
    case 'history':
      if (!room) return;
      for (const h of m.messages) addMessage(room, m.epoch, h);
      return;
    case 'presence':
      if (!room) return;
      room.members = new Map(m.members.map((x) => [x.id, x.user || '']));
      renderMembers(room);
      return;
    case 'join':
      if (!room) return;
      room.members.set(m.member.id, m.member.user || '');
      renderMembers(room);
      return;
    case 'leave':
      if (!room) return;
      room.members.delete(m.member.id);
      renderMembers(room);
      return;
    case 'draining':
      // The server is stopping: come back after its hint, not before.
      c.retryMs = m.retry_ms;
      setConn('waiting', `the server is restarting; back in ${(m.retry_ms / 1000).toFixed(1)} s`);
      return;
    case 'error':
      notice(room, `error ${m.code}: ${m.reason}`, 'bad');
      if (m.code === 'forbidden' && room && !room.joined) leaveRoom(room);
      return;
    default:
      // ack, left, pong: nothing to show.
  }
}

// ---- SSE + POST (sse) ----

function authHeaders() {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

function connectSse() {
  const c = { kind: 'sse', retryMs: null, closed: false };
  conn = c;
  for (const room of rooms.values()) sseOpen(c, room);
}

// One EventSource per room. EventSource would reconnect by itself (with
// Last-Event-ID), but then on its own fixed delay: the page closes it on
// error and reconnects with its backoff, naming the position itself.
function sseOpen(c, room) {
  const since = position(room);
  const q = new URLSearchParams();
  if (since) q.set('lastEventId', since);
  if (token) q.set('token', token);
  const qs = q.toString();
  const es = new EventSource(`/sse/${encodeURIComponent(room.name)}${qs ? `?${qs}` : ''}`);
  room.es = es;
  es.addEventListener('joined', (e) => {
    if (conn !== c) return;
    joined(room, JSON.parse(e.data), since);
    if (!since) sseHistory(room);
    ssePresence(room);
  });
  es.onmessage = (e) => {
    if (conn !== c || !room.joined) return;
    const [epoch, seq] = e.lastEventId.split(':');
    let data = e.data;
    try { data = JSON.parse(e.data); } catch (err) { /* text: shown as it is */ }
    addMessage(room, epoch, { seq: Number(seq), data });
  };
  es.addEventListener('binary', (e) => {
    if (conn !== c || !room.joined) return;
    const [epoch, seq] = e.lastEventId.split(':');
    addMessage(room, epoch, { seq: Number(seq), data: `(binary, base64) ${e.data}` });
  });
  es.addEventListener('draining', (e) => {
    if (conn === c) c.retryMs = JSON.parse(e.data).retry_ms;
  });
  es.onerror = () => {
    if (conn !== c || c.closed) return;
    lost('the event stream ended', c.retryMs);
  };
}

async function sseHistory(room) {
  const r = await fetch(`/rooms/${encodeURIComponent(room.name)}/messages?limit=${HISTORY_ON_JOIN}`,
    { headers: authHeaders() });
  if (!r.ok) return;
  const h = await r.json();
  for (const m of h.messages) addMessage(room, h.epoch, m);
}

async function ssePresence(room) {
  // SSE streams get no presence events: ask once on join.
  const r = await fetch(`/rooms/${encodeURIComponent(room.name)}/presence`, { headers: authHeaders() });
  if (!r.ok) return;
  const p = await r.json();
  room.members = new Map(p.members.map((x) => [x.id, x.user || '']));
  renderMembers(room);
}

async function ssePublish(room, text) {
  const r = await fetch(`/rooms/${encodeURIComponent(room.name)}/messages`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...authHeaders() },
    body: JSON.stringify({ text }),
  });
  if (!r.ok) {
    const e = await r.json().catch(() => ({ code: r.status, reason: r.statusText }));
    notice(room, `not sent: ${e.code}: ${e.reason}`, 'bad');
  }
}

// ---- connecting, losing, reconnecting ----

function connect() {
  clearTimeout(retryTimer);
  retryTimer = 0;
  setConn('waiting', 'connecting…');
  if (transport === 'ws') connectWs(); else connectSse();
}

function disconnect() {
  const c = conn;
  conn = null;
  if (!c) return;
  if (c.kind === 'ws') {
    c.ws.onclose = null;
    c.ws.close();
  } else {
    c.closed = true;
  }
  for (const room of rooms.values()) {
    if (room.es) room.es.close();
    room.es = null;
    room.joined = false;
  }
}

// The connection is gone: every room waits for the next one, which resumes
// from the rooms' positions.
function lost(why, hintMs) {
  disconnect();
  const wait = hintMs != null ? hintMs : backoffMs(attempt);
  attempt++;
  setConn('waiting', `${why}; reconnecting in ${(wait / 1000).toFixed(1)} s`);
  for (const room of rooms.values()) render(room);
  retryTimer = setTimeout(connect, wait);
}

function joinRoom(name) {
  if (rooms.has(name)) {
    current = rooms.get(name);
    render(current);
    return;
  }
  const room = newRoom(name);
  rooms.set(name, room);
  current = room;
  render(room);
  if (!conn) {
    if (!retryTimer) connect();
  } else if (conn.kind === 'ws') {
    if (conn.ws.readyState === WebSocket.OPEN) wsJoin(conn, room);
  } else {
    sseOpen(conn, room);
  }
}

function leaveRoom(room) {
  if (conn && conn.kind === 'ws') send(conn, { type: 'leave', room: room.name });
  if (room.es) room.es.close();
  rooms.delete(room.name);
  if (current === room) current = rooms.values().next().value || null;
  notice(null, `left ${room.name}`);
  render(current);
  if (!rooms.size) {
    disconnect();
    setConn('idle', 'not connected');
  }
}

// ---- the forms ----

function chosenTransport() {
  return document.querySelector('input[name=transport]:checked').value;
}

$('join-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const name = $('room').value.trim();
  if (!$('room').checkValidity() || !name) return;
  const t = chosenTransport();
  const tok = $('token').value.trim();
  if (t !== transport || tok !== token) {
    // Another transport or token: start over with every room, from its
    // position (the rooms already joined resume on the new connection).
    disconnect();
    clearTimeout(retryTimer);
    retryTimer = 0;
    transport = t;
    token = tok;
  }
  joinRoom(name);
  if (!conn && !retryTimer) connect();
  $('room').value = '';
  $('text').focus();
});

$('send-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('text').value;
  if (!text || !current || !current.joined) return;
  if (conn.kind === 'ws') {
    send(conn, { type: 'pub', room: current.name, data: { text }, id: nextId++ });
  } else {
    ssePublish(current, text);
  }
  $('text').value = '';
});

// ?room=a&room=b&transport=sse&token=T: join at once.
(function fromUrl() {
  const q = new URLSearchParams(location.search);
  if (q.get('transport') === 'sse') document.querySelector('input[value=sse]').checked = true;
  transport = chosenTransport();
  token = q.get('token') || '';
  $('token').value = token;
  for (const r of q.getAll('room')) joinRoom(r);
}());

// For tests and the curious: the page's state.
window.ringchat = { rooms, get transport() { return transport; }, get attempt() { return attempt; } };
