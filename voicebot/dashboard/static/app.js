// The supervisors' dashboard: the live call list, one call's view, and control requests.
// The server's board is the source of truth: every streamed event carries the call's summary
// after it, so the page replaces rows instead of re-deriving state.
'use strict';

(() => {
  const ACTION_LABELS = {
    listen: 'Listen', whisper: 'Whisper', barge: 'Barge', takeover: 'Take over',
    release: 'Release', hangup: 'Hang up',
  };
  const EMOTION_LEVELS = { calm: 'ok', neutral: 'ok', frustrated: 'warn', angry: 'alert' };
  const SPEAKER_LABELS = { caller: 'Caller', bot: 'Bot', supervisor: 'Supervisor' };
  const RECONNECT_MS = 3000;

  const calls = new Map(); // call id -> summary from the server
  const myRequests = new Set(); // request ids of this page's control requests
  let me = '';
  let selected = null;
  let lines = new Map(); // seq -> transcript line of the selected call
  let lastShownSeq = 0;
  let clockOffsetMs = 0; // server clock minus browser clock

  const $ = (id) => document.getElementById(id);

  class Unauthorized extends Error {}

  async function api(path, options = {}) {
    const response = await fetch(path, { credentials: 'same-origin', ...options });
    if (response.status === 401) {
      window.location.assign('/login');
      throw new Unauthorized();
    }
    return response;
  }

  function reportFailure(error) {
    if (!(error instanceof Unauthorized)) setConnection('offline', 'Server unreachable');
  }

  function setConnection(state, text) {
    const el = $('connection');
    el.dataset.state = state;
    el.textContent = text;
  }

  function setClock(serverNow) {
    clockOffsetMs = serverNow * 1000 - Date.now();
  }

  function formatDuration(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const hh = Math.floor(s / 3600);
    const mm = Math.floor((s % 3600) / 60);
    const ss = String(s % 60).padStart(2, '0');
    return hh > 0 ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
  }

  function durationOf(call) {
    if (call.ended && call.duration_s !== null) return call.duration_s;
    return (Date.now() + clockOffsetMs) / 1000 - call.started_at;
  }

  function element(tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function emotionBadge(label) {
    const level = label ? (EMOTION_LEVELS[label] || 'unknown') : 'unknown';
    const badge = element('span', `emotion emotion-${level}`);
    badge.dataset.emotion = label || '';
    const dot = element('span', 'dot');
    dot.setAttribute('aria-hidden', 'true');
    badge.append(dot, label || '—');
    return badge;
  }

  function supervisionText(call) {
    if (call.supervision.length === 0) return call.ended ? '—' : 'Bot only';
    return call.supervision.map((s) => `${s.supervisor}: ${s.mode}`).join(', ');
  }

  // --- the call list ----------------------------------------------------------------------

  function rowCells(call) {
    const caller = element('button', 'row-select', call.caller || call.call_id);
    caller.type = 'button';
    caller.setAttribute('aria-label', `Open call from ${call.caller || call.call_id}`);
    const intent = element('td', 'intent', call.intent || '—');
    if (call.intent && call.confidence !== null) {
      intent.append(' ', element('small', 'confidence', `${Math.round(call.confidence * 100)}%`));
    }
    const emotion = element('td', 'emotion-cell');
    emotion.append(emotionBadge(call.emotion));
    const latency = call.latency_ms === null ? '—' : `${Math.round(call.latency_ms)} ms`;
    const callerCell = element('th');
    callerCell.scope = 'row';
    callerCell.append(caller);
    if (call.ended) callerCell.append(' ', element('span', 'tag', 'ended'));
    else if (call.handoff) callerCell.append(' ', element('span', 'tag', 'handed off'));
    return [callerCell, element('td', 'duration', formatDuration(durationOf(call))), intent,
      emotion, element('td', 'latency', latency), element('td', 'supervision',
        supervisionText(call))];
  }

  function upsertRow(call) {
    calls.set(call.call_id, call);
    const body = $('call-rows');
    let row = body.querySelector(`tr[data-call-id="${CSS.escape(call.call_id)}"]`);
    if (!row) {
      row = document.createElement('tr');
      row.dataset.callId = call.call_id;
      body.append(row);
    }
    row.classList.toggle('ended', call.ended);
    row.classList.toggle('selected', call.call_id === selected);
    if (call.call_id === selected) row.setAttribute('aria-current', 'true');
    else row.removeAttribute('aria-current');
    row.replaceChildren(...rowCells(call));
    updateCount();
  }

  function removeRow(callId) {
    calls.delete(callId);
    const row = $('call-rows').querySelector(`tr[data-call-id="${CSS.escape(callId)}"]`);
    if (row) row.remove();
    updateCount();
    if (callId === selected) {
      showStatus('');
      $('call-status').textContent = 'The call has left the board.';
      setControlsEnabled(false);
    }
  }

  function updateCount() {
    const live = [...calls.values()].filter((c) => !c.ended).length;
    $('call-count').textContent = `(${live})`;
    $('no-calls').hidden = calls.size > 0;
  }

  function tick() {
    for (const row of $('call-rows').rows) {
      const call = calls.get(row.dataset.callId);
      if (call) row.querySelector('.duration').textContent = formatDuration(durationOf(call));
    }
  }

  async function loadBoard() {
    const response = await api('/api/calls');
    const body = await response.json();
    setClock(body.now);
    const present = new Set(body.calls.map((c) => c.call_id));
    for (const callId of [...calls.keys()]) if (!present.has(callId)) removeRow(callId);
    body.calls.forEach(upsertRow);
    updateCount();
    if (selected) await loadCall(selected);
  }

  // --- the selected call ------------------------------------------------------------------

  function selectCall(callId) {
    if (callId === selected) return;
    selected = callId;
    lines = new Map();
    lastShownSeq = 0;
    $('transcript').replaceChildren();
    showStatus('');
    showError('');
    for (const row of $('call-rows').rows) {
      const on = row.dataset.callId === callId;
      row.classList.toggle('selected', on);
      if (on) row.setAttribute('aria-current', 'true');
      else row.removeAttribute('aria-current');
    }
    $('no-selection').hidden = true;
    $('call-view').hidden = false;
    const call = calls.get(callId);
    if (call) renderCall(call);
    loadCall(callId).catch(reportFailure);
  }

  async function loadCall(callId) {
    const response = await api(`/api/calls/${encodeURIComponent(callId)}`);
    if (callId !== selected) return;
    if (response.status === 404) {
      removeRow(callId);
      return;
    }
    const body = await response.json();
    setClock(body.now);
    renderCall(body.call);
    addLines(body.call.transcript);
  }

  function renderCall(call) {
    $('call-caller').textContent = call.caller || 'an unknown number';
    $('call-id').textContent = call.call_id;
    let status = 'In progress';
    if (call.ended) {
      const duration = call.duration_s === null ? '' : ` after ${formatDuration(call.duration_s)}`;
      status = `Ended (${call.ended_reason})${duration}`;
    } else if (call.handoff) {
      status = `Handed off: ${call.handoff}`;
    }
    $('call-status').textContent = status;
    $('supervision-state').textContent = supervisionText(call);
    const mine = call.supervision.find((s) => s.supervisor === me);
    for (const button of $('controls').querySelectorAll('button[data-action]')) {
      button.setAttribute('aria-pressed', String(mine !== undefined
        && mine.mode === button.dataset.action));
    }
    setControlsEnabled(!call.ended);
  }

  function setControlsEnabled(enabled) {
    for (const button of $('controls').querySelectorAll('button')) button.disabled = !enabled;
  }

  function lineElement(line) {
    const item = element('li', `line speaker-${line.speaker}`);
    item.dataset.seq = String(line.seq);
    item.dataset.speaker = line.speaker;
    let label = SPEAKER_LABELS[line.speaker] || line.speaker;
    if (line.speaker === 'supervisor' && line.supervisor) label += ` (${line.supervisor})`;
    const when = element('time', 'at', new Date(line.at * 1000).toLocaleTimeString());
    when.dateTime = new Date(line.at * 1000).toISOString();
    item.append(element('span', 'speaker', label), element('span', 'text', line.text), when);
    return item;
  }

  // Lines come from the call's snapshot and from the stream, in either order: keep them by
  // seq, append the new ones, redraw only when one arrives out of order.
  function addLines(newLines) {
    const fresh = newLines.filter((line) => !lines.has(line.seq));
    if (fresh.length === 0) return;
    fresh.forEach((line) => lines.set(line.seq, line));
    const list = $('transcript');
    const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 8;
    if (fresh.every((line) => line.seq > lastShownSeq)) {
      fresh.sort((a, b) => a.seq - b.seq).forEach((line) => list.append(lineElement(line)));
    } else {
      list.replaceChildren(...[...lines.values()].sort((a, b) => a.seq - b.seq)
        .map(lineElement));
    }
    lastShownSeq = Math.max(lastShownSeq, ...fresh.map((line) => line.seq));
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  function showStatus(text) {
    $('control-status').textContent = text;
  }

  function showError(text) {
    $('control-error').textContent = text;
  }

  async function sendControl(action) {
    const callId = selected;
    if (!callId) return;
    showError('');
    showStatus(`${ACTION_LABELS[action]}: sending…`);
    try {
      const response = await api(`/api/calls/${encodeURIComponent(callId)}/control`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ action }),
      });
      const body = await response.json().catch(() => ({}));
      if (response.status === 202) {
        myRequests.add(body.request_id);
        showStatus(`${ACTION_LABELS[action]}: requested.`);
      } else {
        showStatus('');
        showError(body.error || `The request failed (HTTP ${response.status}).`);
      }
    } catch (error) {
      if (error instanceof Unauthorized) return;
      showStatus('');
      showError('The request could not reach the server.');
    }
  }

  // --- live updates -----------------------------------------------------------------------

  function onEvent(update) {
    const { event, call } = update;
    if (call) upsertRow(call);
    if (event.type === 'control_rejected') onRejection(event);
    if (event.type === 'supervision' && event.data.supervisor === me
        && event.call_id === selected) {
      // The bot carried the request out: "requested" would now be stale.
      showStatus(event.data.mode === 'ended' ? 'You have left the call.'
        : `${ACTION_LABELS[event.data.mode]}: on the line.`);
    }
    if (call && call.call_id === selected) {
      renderCall(call);
      if (event.type === 'utterance') addLines([{ seq: event.seq, at: event.at, ...event.data }]);
    }
  }

  function onRejection(event) {
    const data = event.data;
    const mine = (data.request_id && myRequests.has(data.request_id)) || data.supervisor === me;
    if (!mine) return;
    const what = ACTION_LABELS[data.action] || data.action || 'Request';
    showStatus('');
    showError(`${what} refused on call ${event.call_id || '?'}: ${data.error}`);
  }

  function connect() {
    const source = new EventSource('/api/stream');
    source.addEventListener('open', () => {
      setConnection('live', 'Live');
      loadBoard().catch(reportFailure); // catch up on what happened while disconnected
    });
    source.addEventListener('event', (message) => onEvent(JSON.parse(message.data)));
    source.addEventListener('removed', (message) => removeRow(JSON.parse(message.data).call_id));
    source.addEventListener('error', () => {
      if (source.readyState !== EventSource.CLOSED) {
        setConnection('connecting', 'Reconnecting…');
        return;
      }
      // Refused (logged out, or the server is gone): find out which, then try again.
      source.close();
      setConnection('offline', 'Disconnected');
      api('/api/me')
        .then(() => window.setTimeout(connect, RECONNECT_MS))
        .catch((error) => {
          if (!(error instanceof Unauthorized)) window.setTimeout(connect, RECONNECT_MS);
        });
    });
  }

  async function start() {
    $('call-rows').addEventListener('click', (event) => {
      const row = event.target.closest('tr[data-call-id]');
      if (row) selectCall(row.dataset.callId);
    });
    $('controls').addEventListener('click', (event) => {
      const button = event.target.closest('button[data-action]');
      if (button && !button.disabled) sendControl(button.dataset.action);
    });
    try {
      const response = await api('/api/me');
      me = (await response.json()).name;
      $('supervisor-name').textContent = me;
    } catch (error) {
      reportFailure(error);
      return;
    }
    updateCount();
    connect();
    window.setInterval(tick, 1000);
  }

  document.addEventListener('DOMContentLoaded', () => { start(); });
})();
