/*
 * vtsync configuration page (view vtsync_config, Splunk's first-party
 * template pages/splunk_ui_app.html, which loads this file by the view's
 * name). Plain JavaScript, no framework and no other file: it builds the
 * page itself and talks only to splunkd's REST API through Splunk Web's
 * proxy (<root>/<locale>/splunkd/__raw/...), with the signed-in user's
 * session cookie and Splunk Web's CSRF token (header X-Splunk-Form-Key).
 *
 * What it does:
 *  - stores, replaces or deletes the VirusTotal key of an input in
 *    storage/passwords (realm vtsync, user = the input's name), where the
 *    modular input reads it; the key never goes to a .conf file and is
 *    never read back: the page only asks whether one is stored;
 *  - sets the defaults every input inherits, in the [vtsync] stanza of
 *    inputs.conf (configs/conf-inputs/vtsync);
 *  - lists the inputs with their last run (status, quota state, errors)
 *    from the vtsync:run summary events;
 *  - creates, enables and disables inputs (data/inputs/vtsync).
 */
(function () {
  'use strict';

  var APP = 'vtsync';
  var SCHEME = 'vtsync';
  var REALM = 'vtsync';
  var MASK = '********';
  var NEW_INPUT_INTERVAL = '10,25,40,55 * * * *';

  // The defaults the page offers; a field shows only when the installed
  // vtsync accepts it (data/inputs/vtsync/_new lists the scheme's
  // arguments).
  var DEFAULTS = [
    { name: 'requests_per_minute', label: 'Requests per minute', kind: 'count', min: 1,
      help: 'VirusTotal requests per minute, never exceeded: 4 for a public key, more for premium keys.' },
    { name: 'daily_lookup_budget', label: 'Daily lookup budget', kind: 'count', min: 0,
      help: 'VirusTotal requests per UTC day, retries included, by all inputs that share a key (0 = no cap).' },
    { name: 'refresh_days', label: 'Refresh after days', kind: 'count', min: 1,
      help: 'A record older than this is looked up again.' },
    { name: 'retention_days', label: 'Retention days', kind: 'count', min: 0,
      help: 'Records not refreshed for this many days are deleted (0 = keep every record).' },
    { name: 'proxy_url', label: 'HTTPS proxy', kind: 'url',
      help: 'Proxy for VirusTotal requests, e.g. http://proxy.example.com:3128. Empty: the HTTPS_PROXY environment variable of splunkd.' }
  ];

  var KEY_RE = /^[0-9a-fA-F]{64}$/;
  var NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

  // ---- splunkd through Splunk Web ----

  // Splunk Web serves the page at <root>/<locale>/app/<app>/<view>; its
  // splunkd proxy is <root>/<locale>/splunkd/__raw.
  function proxyBase() {
    var p = window.location.pathname;
    var i = p.indexOf('/app/');
    return (i >= 0 ? p.slice(0, i) : '') + '/splunkd/__raw';
  }

  function nsPath(rest) {
    return '/servicesNS/nobody/' + APP + '/' + rest;
  }

  // Splunk Web's CSRF token is the cookie splunkweb_csrf_token_<port>,
  // <port> being Splunk Web's; behind a proxy the page's port may differ,
  // so a single token cookie is taken whatever its port.
  function csrfToken() {
    var port = window.location.port || (window.location.protocol === 'https:' ? '443' : '80');
    var found = [];
    document.cookie.split(';').forEach(function (c) {
      var kv = c.trim().match(/^splunkweb_csrf_token_(\d+)=(.*)$/);
      if (kv) {
        found.push({ port: kv[1], value: decodeURIComponent(kv[2]) });
      }
    });
    for (var i = 0; i < found.length; i++) {
      if (found[i].port === port) {
        return found[i].value;
      }
    }
    return found.length ? found[0].value : '';
  }

  function messageOf(body, status) {
    try {
      var v = JSON.parse(body);
      if (v && v.messages && v.messages.length) {
        return v.messages.map(function (m) { return m.text; }).join(' ');
      }
    } catch (e) { /* not JSON */ }
    return 'splunkd answered HTTP ' + status;
  }

  // rest sends one request and returns {status, body}; a status of 400 or
  // more that is not in allowed is thrown as an Error with splunkd's text.
  async function rest(method, path, params, allowed) {
    var q = new URLSearchParams({ output_mode: 'json' });
    var init = { method: method, credentials: 'same-origin', headers: { 'X-Requested-With': 'XMLHttpRequest' } };
    if (method === 'GET') {
      Object.keys(params || {}).forEach(function (k) {
        [].concat(params[k]).forEach(function (v) { q.append(k, v); });
      });
    } else {
      init.headers['X-Splunk-Form-Key'] = csrfToken();
      if (method === 'POST') {
        var form = new URLSearchParams({ output_mode: 'json' });
        Object.keys(params || {}).forEach(function (k) { form.append(k, params[k]); });
        init.headers['Content-Type'] = 'application/x-www-form-urlencoded';
        init.body = form.toString();
      }
    }
    var resp = await fetch(proxyBase() + path + '?' + q.toString(), init);
    var body = await resp.text();
    if (resp.status >= 400 && (allowed || []).indexOf(resp.status) < 0) {
      throw new Error(messageOf(body, resp.status));
    }
    return { status: resp.status, body: body };
  }

  async function getJSON(path, params) {
    var r = await rest('GET', path, params);
    return JSON.parse(r.body);
  }

  // storage/passwords names an entry realm:user: with ":" and "\" escaped.
  function entity(realm, user) {
    var esc = function (s) { return s.replace(/\\/g, '\\\\').replace(/:/g, '\\:'); };
    return esc(realm) + ':' + esc(user) + ':';
  }

  function inputPath(name) {
    return nsPath('data/inputs/' + SCHEME + '/' + encodeURIComponent(name));
  }

  // ---- reading the state ----

  async function loadInputs() {
    var v = await getJSON(nsPath('data/inputs/' + SCHEME), { count: '-1' });
    return (v.entry || []).map(function (e) {
      return { name: e.name, content: e.content || {} };
    }).sort(function (a, b) { return a.name < b.name ? -1 : 1; });
  }

  // The scheme's arguments: only defaults the installed vtsync takes.
  async function loadArgs() {
    try {
      var v = await getJSON(nsPath('data/inputs/' + SCHEME + '/_new'));
      var f = v.entry && v.entry[0] && v.entry[0].fields;
      return f ? [].concat(f.required || [], f.optional || []) : null;
    } catch (e) {
      return null;
    }
  }

  // The users that have a key in realm vtsync. f= limits the answer to the
  // realm and user name, so the keys themselves never reach the browser.
  async function loadStoredKeys() {
    var v = await getJSON(nsPath('storage/passwords'), { count: '-1', f: ['realm', 'username'] });
    var users = {};
    (v.entry || []).forEach(function (e) {
      if (e.content && e.content.realm === REALM) {
        users[e.content.username] = true;
      }
    });
    return users;
  }

  async function loadDefaults() {
    var v = await getJSON(nsPath('configs/conf-inputs/' + SCHEME));
    return (v.entry && v.entry[0] && v.entry[0].content) || {};
  }

  // The latest vtsync:run summary of each input over the last 7 days.
  async function loadRuns() {
    var form = new URLSearchParams({
      search: 'search `vtsync_summary_index` sourcetype="vtsync:run" | dedup input | table _time input status quota_state looked_up failed errors{}',
      earliest_time: '-7d',
      latest_time: 'now',
      output_mode: 'json'
    });
    var resp = await fetch(proxyBase() + '/services/search/jobs/export', {
      method: 'POST',
      credentials: 'same-origin',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        'X-Splunk-Form-Key': csrfToken(),
        'X-Requested-With': 'XMLHttpRequest'
      },
      body: form.toString()
    });
    var text = (await resp.text()).replace(/^\uFEFF/, '');
    if (!resp.ok) {
      throw new Error(messageOf(text, resp.status));
    }
    var runs = {};
    text.split('\n').forEach(function (line) {
      if (!line.trim()) {
        return;
      }
      var v = JSON.parse(line);
      (v.messages || []).forEach(function (m) {
        if (m.type === 'FATAL' || m.type === 'ERROR') {
          throw new Error(m.text);
        }
      });
      if (v.result && !v.preview && v.result.input && !runs[v.result.input]) {
        runs[v.result.input] = v.result;
      }
    });
    return runs;
  }

  // ---- changing it ----

  // storeKey creates the key's entry, or replaces the key of an existing
  // one (stored: the page saw it; a 409 on create says so too).
  async function storeKey(name, key, inputs, stored) {
    if (!KEY_RE.test(key)) {
      throw new Error('A VirusTotal API key is 64 hexadecimal characters; paste it from your VirusTotal API key page.');
    }
    var update = stored;
    if (!stored) {
      var r = await rest('POST', nsPath('storage/passwords'), { name: name, password: key, realm: REALM }, [409]);
      update = r.status === 409;
    }
    if (update) {
      await rest('POST', nsPath('storage/passwords/' + encodeURIComponent(entity(REALM, name))), { password: key });
    }
    // A key typed into inputs.conf would replace the stored one at the
    // next run: mask it, so that the input reads storage/passwords.
    var input = (inputs || []).find(function (i) { return i.name === name; });
    var typed = input && input.content.api_key;
    if (typed && typed !== MASK) {
      await rest('POST', inputPath(name), { api_key: MASK });
    }
  }

  async function deleteKey(name) {
    await rest('DELETE', nsPath('storage/passwords/' + encodeURIComponent(entity(REALM, name))));
  }

  // ---- the page ----

  var state = { inputs: [], args: null, keys: {}, defaults: {}, runs: {}, runsError: '' };
  var root;

  function el(tag, attrs) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') {
        e.textContent = attrs[k];
      } else if (k.slice(0, 2) === 'on') {
        e.addEventListener(k.slice(2), attrs[k]);
      } else if (attrs[k] !== false && attrs[k] !== undefined && attrs[k] !== null) {
        e.setAttribute(k, attrs[k] === true ? '' : attrs[k]);
      }
    });
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) {
        continue;
      }
      e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return e;
  }

  function say(text, kind) {
    var m = document.getElementById('vtsync-message');
    m.textContent = text;
    m.className = 'vtsync-message vtsync-' + (kind || 'info');
  }

  function hasKey(input) {
    var typed = input.content.api_key;
    return !!state.keys[input.name] || (!!typed && typed !== MASK);
  }

  // act runs a change, says how it went, and reloads the state.
  async function act(button, work, done) {
    button.disabled = true;
    try {
      await work();
      await load();
      say(done, 'ok');
    } catch (e) {
      say(e.message, 'error');
    } finally {
      button.disabled = false;
    }
  }

  function keySection() {
    var select = el('select', { id: 'key-input', 'aria-label': 'Input' });
    state.inputs.forEach(function (i) {
      select.appendChild(el('option', { value: i.name, text: i.name }));
    });
    var value = el('input', { id: 'key-value', type: 'password', autocomplete: 'new-password', spellcheck: 'false',
      placeholder: '64 hexadecimal characters', 'aria-label': 'VirusTotal API key' });
    var save = el('button', { id: 'key-save', type: 'submit', class: 'vtsync-primary' }, 'Save key');
    var form = el('form', { id: 'key-form', class: 'vtsync-row' },
      el('label', { for: 'key-input' }, 'Input'), select,
      el('label', { for: 'key-value' }, 'VirusTotal API key'), value, save);
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var name = select.value;
      var key = value.value.trim();
      if (!name) {
        say('Create an input first (below), then store its key.', 'error');
        return;
      }
      act(save, async function () {
        await storeKey(name, key, state.inputs, !!state.keys[name]);
        value.value = '';
      }, 'Stored the VirusTotal key of input ' + name + ' in storage/passwords (realm ' + REALM + ').');
    });
    return el('section', { id: 'vtsync-key' },
      el('h2', {}, 'VirusTotal API key'),
      el('p', { class: 'vtsync-help' }, 'Each input reads its key from splunkd\u2019s storage/passwords (realm ' + REALM +
        ', user = the input\u2019s name). The key goes there directly, never into a .conf file, and is never shown again. ' +
        'Saving a new key replaces the stored one.'),
      form);
  }

  function runCell(input) {
    var r = state.runs[input.name];
    if (!r) {
      return el('td', { 'data-col': 'run' }, state.runsError ? 'unknown' : 'no run in the last 7 days');
    }
    var when = r._time ? new Date(r._time).toLocaleString() : '';
    return el('td', { 'data-col': 'run' }, when);
  }

  function inputsSection() {
    var body = el('tbody');
    state.inputs.forEach(function (i) {
      var r = state.runs[i.name] || {};
      var enabled = !i.content.disabled;
      var errs = [].concat(r['errors{}'] || []).filter(Boolean);
      var toggle = el('button', { type: 'button', class: 'vtsync-toggle', 'data-action': enabled ? 'disable' : 'enable' },
        enabled ? 'Disable' : 'Enable');
      toggle.addEventListener('click', function () {
        if (!enabled && !hasKey(i)) {
          say('Store a VirusTotal key for input ' + i.name + ' first: without one its runs fail.', 'error');
          return;
        }
        act(toggle, function () {
          return rest('POST', inputPath(i.name) + '/' + (enabled ? 'disable' : 'enable'));
        }, (enabled ? 'Disabled' : 'Enabled') + ' input ' + i.name + '.');
      });
      var del = el('button', { type: 'button', class: 'vtsync-delete', 'data-action': 'delete-key', disabled: !state.keys[i.name] }, 'Delete key');
      del.addEventListener('click', function () {
        act(del, function () { return deleteKey(i.name); },
          'Deleted the VirusTotal key of input ' + i.name + '.' + (enabled ? ' Its runs fail until a key is stored again.' : ''));
      });
      var keyText = state.keys[i.name] ? 'stored' : (i.content.api_key && i.content.api_key !== MASK ? 'in inputs.conf, moved at next run' : 'not stored');
      body.appendChild(el('tr', { 'data-input': i.name },
        el('td', { 'data-col': 'name' }, i.name),
        el('td', { 'data-col': 'state' }, enabled ? 'enabled' : 'disabled'),
        el('td', { 'data-col': 'key', class: state.keys[i.name] ? 'vtsync-good' : 'vtsync-bad' }, keyText),
        el('td', { 'data-col': 'interval' }, String(i.content.interval || '')),
        runCell(i),
        el('td', { 'data-col': 'status', class: r.status === 'failed' ? 'vtsync-bad' : '' }, r.status || ''),
        el('td', { 'data-col': 'quota', class: r.quota_state && r.quota_state !== 'ok' ? 'vtsync-bad' : '' }, r.quota_state || ''),
        el('td', { 'data-col': 'looked_up' }, r.looked_up === undefined ? '' : String(r.looked_up)),
        el('td', { 'data-col': 'errors' }, errs.length ? errs.join('\n') : ''),
        el('td', { class: 'vtsync-actions' }, toggle, del)));
    });
    if (!state.inputs.length) {
      body.appendChild(el('tr', {}, el('td', { colspan: '10' }, 'No vtsync input yet: create one below.')));
    }
    var head = el('tr');
    ['Input', 'State', 'Key', 'Interval', 'Last run', 'Status', 'Quota', 'Looked up', 'Errors', ''].forEach(function (h) {
      head.appendChild(el('th', { scope: 'col' }, h));
    });
    return el('section', { id: 'vtsync-inputs' },
      el('h2', {}, 'Inputs'),
      el('p', { class: 'vtsync-help' }, 'The last run of each input in the last 7 days, from its vtsync:run summary event.' +
        (state.runsError ? ' Runs could not be read: ' + state.runsError : '')),
      el('table', { id: 'inputs', class: 'vtsync-table' }, el('thead', {}, head), body));
  }

  function defaultsSection() {
    var fields = DEFAULTS.filter(function (d) { return !state.args || state.args.indexOf(d.name) >= 0; });
    var form = el('form', { id: 'defaults-form', class: 'vtsync-grid' });
    fields.forEach(function (d) {
      var id = 'default-' + d.name;
      var value = state.defaults[d.name] === undefined ? '' : String(state.defaults[d.name]);
      form.appendChild(el('label', { for: id }, d.label));
      form.appendChild(el('input', { id: id, name: d.name, type: d.kind === 'url' ? 'url' : 'number',
        min: d.kind === 'count' ? String(d.min) : false, step: d.kind === 'count' ? '1' : false, value: value,
        placeholder: 'vtsync default' }));
      form.appendChild(el('span', { class: 'vtsync-help' }, d.help));
    });
    var save = el('button', { id: 'defaults-save', type: 'submit', class: 'vtsync-primary' }, 'Save defaults');
    form.appendChild(el('span'));
    form.appendChild(save);
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var values = {};
      for (var i = 0; i < fields.length; i++) {
        var d = fields[i];
        var v = document.getElementById('default-' + d.name).value.trim();
        if (v !== '' && d.kind === 'count' && !(/^\d+$/.test(v) && Number(v) >= d.min)) {
          say(d.label + ' (' + d.name + ') must be a whole number of at least ' + d.min + ', or empty for vtsync\u2019s default.', 'error');
          return;
        }
        if (v !== '' && d.kind === 'url' && !/^https?:\/\/[^\s/]+/.test(v)) {
          say(d.label + ' (' + d.name + ') must be an http:// or https:// URL, or empty.', 'error');
          return;
        }
        values[d.name] = v;
      }
      act(save, function () {
        return rest('POST', nsPath('configs/conf-inputs/' + SCHEME), values);
      }, 'Saved the defaults in the [' + SCHEME + '] stanza of inputs.conf; every input without its own value uses them from its next run.');
    });
    return el('section', { id: 'vtsync-defaults' },
      el('h2', {}, 'Defaults for every input'),
      el('p', { class: 'vtsync-help' }, 'Kept in the [' + SCHEME + '] stanza of inputs.conf, which every vtsync input inherits; ' +
        'a value set on an input itself wins. Empty: vtsync\u2019s own default.'),
      form);
  }

  function newInputSection() {
    var name = el('input', { id: 'new-name', type: 'text', placeholder: 'e.g. branch_office', 'aria-label': 'Input name' });
    var interval = el('input', { id: 'new-interval', type: 'text', value: NEW_INPUT_INTERVAL, 'aria-label': 'Interval' });
    var key = el('input', { id: 'new-key', type: 'password', autocomplete: 'new-password', placeholder: 'optional',
      'aria-label': 'VirusTotal API key for the new input' });
    var enable = el('input', { id: 'new-enable', type: 'checkbox', checked: true });
    var create = el('button', { id: 'new-create', type: 'submit', class: 'vtsync-primary' }, 'Create input');
    var form = el('form', { id: 'new-form', class: 'vtsync-grid' },
      el('label', { for: 'new-name' }, 'Name'), name, el('span', { class: 'vtsync-help' }, 'Letters, digits, _ . -; the key is stored under this name.'),
      el('label', { for: 'new-interval' }, 'Interval'), interval, el('span', { class: 'vtsync-help' }, 'Seconds or a cron schedule; the default runs five minutes before each detection run.'),
      el('label', { for: 'new-key' }, 'VirusTotal API key'), key, el('span', { class: 'vtsync-help' }, 'Stored in storage/passwords; leave empty to store it later.'),
      el('label', { for: 'new-enable' }, 'Enable now'), enable, el('span'),
      el('span'), create);
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var n = name.value.trim();
      var k = key.value.trim();
      if (!NAME_RE.test(n)) {
        say('The input name must start with a letter or digit and hold only letters, digits, _ . and - (at most 100).', 'error');
        return;
      }
      if (state.inputs.some(function (i) { return i.name === n; })) {
        say('Input ' + n + ' exists already; enable it or store its key above.', 'error');
        return;
      }
      if (k && !KEY_RE.test(k)) {
        say('A VirusTotal API key is 64 hexadecimal characters; paste it from your VirusTotal API key page.', 'error');
        return;
      }
      if (enable.checked && !k && !state.keys[n]) {
        say('Enter the VirusTotal key to enable the input now, or clear \u201cEnable now\u201d and store the key later.', 'error');
        return;
      }
      act(create, async function () {
        await rest('POST', nsPath('data/inputs/' + SCHEME), { name: n, interval: interval.value.trim(), disabled: '1' });
        if (k) {
          await storeKey(n, k, [], !!state.keys[n]);
        }
        if (enable.checked) {
          await rest('POST', inputPath(n) + '/enable');
        }
        name.value = '';
        key.value = '';
      }, 'Created input ' + n + (k ? ' with its key in storage/passwords' : '') + (enable.checked ? ', enabled.' : ', disabled.'));
    });
    return el('section', { id: 'vtsync-new' }, el('h2', {}, 'New input'), form);
  }

  var CSS = [
    '#vtsync-config{font:14px/1.45 "Splunk Platform Sans",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1c1f26;',
    'max-width:1180px;margin:0 auto;padding:16px 24px 48px;background:#fff}',
    '#vtsync-config h1{font-size:24px;font-weight:600;margin:8px 0 4px}',
    '#vtsync-config h2{font-size:18px;font-weight:600;margin:28px 0 6px;border-bottom:1px solid #e1e6eb;padding-bottom:4px}',
    '#vtsync-config .vtsync-help{color:#5c6773;font-size:12px}',
    '#vtsync-config p.vtsync-help{font-size:13px;margin:4px 0 10px}',
    '.vtsync-message{min-height:20px;padding:8px 12px;border-radius:4px;margin:10px 0}',
    '.vtsync-message:empty{padding:0;margin:0}',
    '.vtsync-ok{background:#e6f4ea;color:#1e6b30}.vtsync-error{background:#fdecea;color:#a4161a}.vtsync-info{background:#eef4fb;color:#24496b}',
    '.vtsync-row{display:flex;gap:10px;align-items:center;flex-wrap:wrap}',
    '.vtsync-grid{display:grid;grid-template-columns:max-content 320px 1fr;gap:8px 12px;align-items:center}',
    '.vtsync-grid button,.vtsync-grid input[type=checkbox]{justify-self:start}',
    '#vtsync-config input[type=text],#vtsync-config input[type=password],#vtsync-config input[type=number],#vtsync-config input[type=url],#vtsync-config select',
    '{font:inherit;padding:5px 8px;border:1px solid #c3cbd4;border-radius:4px;min-width:0}',
    '#key-value{width:360px}',
    '#vtsync-config button{font:inherit;padding:5px 12px;border-radius:4px;border:1px solid #c3cbd4;background:#f7f8fa;cursor:pointer}',
    '#vtsync-config button:disabled{opacity:.45;cursor:default}',
    '#vtsync-config button.vtsync-primary{background:#1a73d9;border-color:#1a73d9;color:#fff}',
    '.vtsync-table{border-collapse:collapse;width:100%}',
    '.vtsync-table th,.vtsync-table td{border-bottom:1px solid #e1e6eb;padding:6px 8px;text-align:left;vertical-align:top}',
    '.vtsync-table th{font-size:12px;color:#5c6773;font-weight:600}',
    '.vtsync-table td[data-col=errors]{white-space:pre-wrap;max-width:280px;font-size:12px;color:#a4161a}',
    '.vtsync-actions,.vtsync-table td[data-col=interval],.vtsync-table td[data-col=key]{white-space:nowrap}',
    '.vtsync-actions button{margin-right:6px}',
    '.vtsync-good{color:#1e6b30}.vtsync-bad{color:#a4161a}'
  ].join('');

  async function load() {
    var all = await Promise.all([loadInputs(), loadArgs(), loadStoredKeys(), loadDefaults()]);
    state.inputs = all[0];
    state.args = all[1];
    state.keys = all[2];
    state.defaults = all[3];
    try {
      state.runs = await loadRuns();
      state.runsError = '';
    } catch (e) {
      state.runs = {};
      state.runsError = e.message;
    }
    render();
  }

  function render() {
    var content = document.getElementById('vtsync-content');
    content.replaceChildren(keySection(), inputsSection(), defaultsSection(), newInputSection());
  }

  async function start() {
    var style = document.createElement('style');
    style.textContent = CSS;
    document.head.appendChild(style);
    root = el('main', { id: 'vtsync-config', 'data-state': 'loading' },
      el('h1', {}, 'vtsync configuration'),
      el('p', { class: 'vtsync-help' }, 'VirusTotal key, defaults and inputs of the vtsync modular input. Changes take effect at each input\u2019s next run.'),
      el('div', { id: 'vtsync-message', class: 'vtsync-message', role: 'status', 'aria-live': 'polite' }),
      el('div', { id: 'vtsync-content' }));
    document.body.appendChild(root);
    try {
      await load();
      root.setAttribute('data-state', 'ready');
    } catch (e) {
      say('Cannot read the vtsync configuration from splunkd: ' + e.message + ' (an admin role is needed to read inputs and storage/passwords).', 'error');
      root.setAttribute('data-state', 'failed');
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
}());
