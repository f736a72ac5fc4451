/* Rapport widget loader, served at /widget.js.
 *
 * A classic script with no dependencies: host pages include it with
 * <script async src>. It turns the queued `Rapport(...)` calls into a
 * launcher button and an iframe showing /messenger, and relays commands to
 * that iframe with postMessage. Everything it adds to the host page is
 * namespaced `rapport-` and styled by one <style> of `#rapport-…` rules with
 * !important, so the host's CSS and ours cannot reach each other.
 */
(function () {
  'use strict';
  var w = window;
  var d = document;
  if (w.Rapport && w.Rapport.loaded) return; // included twice

  var origin = findOrigin();
  if (!origin) {
    if (w.console) console.warn('Rapport: cannot tell where widget.js was loaded from');
    return;
  }

  var settings = null; // the boot settings, once booted
  var style = null;
  var launcher = null;
  var badge = null;
  var badgeText = null;
  var messenger = null; // { frame, ready, outbox } of the booted messenger
  var leaving = []; // messengers told to shut down, removed when they answer
  var isOpen = false;
  var unread = 0;
  var unreadListeners = [];
  var lastPageUrl = null;
  var pageViewTimer = null;
  var historyPatched = false;

  function findOrigin() {
    var script = d.currentScript;
    var src = script && script.src;
    if (!src) {
      var found = d.querySelectorAll('script[src$="/widget.js"], script[src*="/widget.js?"]');
      if (found.length) src = found[found.length - 1].src;
    }
    try {
      return src ? new URL(src, location.href).origin : null;
    } catch (e) {
      return null;
    }
  }

  // Values cross into the iframe with structured clone, which throws on
  // functions and DOM nodes: keep what JSON keeps.
  function plain(value) {
    try {
      return JSON.parse(JSON.stringify(value === undefined ? null : value));
    } catch (e) {
      return null;
    }
  }

  function isObject(value) {
    return value !== null && typeof value === 'object' && !Array.isArray(value);
  }

  var CSS = [
    // Not on <path>: `all` would reset its `d` geometry too.
    '#rapport-launcher,#rapport-frame,#rapport-badge,#rapport-launcher svg,#rapport-sr{all:initial;}',
    '#rapport-launcher{position:fixed;right:20px;bottom:20px;z-index:2147483001;box-sizing:border-box;width:56px;height:56px;',
    'border-radius:50%;border:0;margin:0;padding:0;cursor:pointer;display:flex;align-items:center;justify-content:center;',
    'background:var(--rapport-accent,#2f5bea);color:#fff;box-shadow:0 4px 14px rgba(0,0,0,.22);',
    'transition:transform .15s ease;visibility:visible;opacity:1;}',
    '#rapport-launcher[hidden],#rapport-launcher.rapport-waiting{display:none;}',
    '#rapport-launcher:hover{transform:scale(1.06);}',
    '#rapport-launcher:focus-visible{outline:3px solid var(--rapport-accent,#2f5bea);outline-offset:3px;}',
    '#rapport-launcher svg{display:block;width:28px;height:28px;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round;}',
    '#rapport-launcher path{fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round;}',
    '#rapport-launcher .rapport-icon-close{display:none;}',
    '#rapport-launcher[aria-expanded="true"] .rapport-icon-open{display:none;}',
    '#rapport-launcher[aria-expanded="true"] .rapport-icon-close{display:block;}',
    '#rapport-badge{position:absolute;top:-4px;right:-4px;box-sizing:border-box;min-width:20px;height:20px;padding:0 5px;',
    'border-radius:10px;background:#e5484d;color:#fff;border:2px solid #fff;display:flex;align-items:center;justify-content:center;',
    'font:700 11px/1 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;}',
    '#rapport-badge[hidden]{display:none;}',
    '#rapport-sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;}',
    '#rapport-frame{position:fixed;right:20px;bottom:88px;z-index:2147483000;box-sizing:border-box;display:block;',
    'width:370px;height:600px;max-width:calc(100vw - 40px);max-height:calc(100vh - 108px);border:0;margin:0;padding:0;',
    'border-radius:16px;background:#fff;box-shadow:0 10px 40px rgba(0,0,0,.2);color-scheme:normal;',
    'visibility:hidden;opacity:0;transform:translateY(12px);pointer-events:none;',
    'transition:opacity .18s ease,transform .18s ease,visibility 0s linear .18s;}',
    '#rapport-frame.rapport-open{visibility:visible;opacity:1;transform:none;pointer-events:auto;',
    'transition:opacity .18s ease,transform .18s ease,visibility 0s;}',
    '@media (max-width:450px),(max-height:500px){',
    '#rapport-frame{right:0;bottom:0;width:100%;height:100%;max-width:none;max-height:none;border-radius:0;}',
    '#rapport-launcher.rapport-open{display:none;}}',
    '@media (prefers-reduced-motion:reduce){#rapport-frame,#rapport-frame.rapport-open,#rapport-launcher{transition:none;}}'
  ].join('').replace(/;/g, '!important;');

  var SVG = 'http://www.w3.org/2000/svg';

  function el(tag, attrs, ns) {
    var node = ns ? d.createElementNS(ns, tag) : d.createElement(tag);
    for (var name in attrs) node.setAttribute(name, attrs[name]);
    return node;
  }

  function icon() {
    var svg = el('svg', { viewBox: '0 0 24 24', 'aria-hidden': 'true', focusable: 'false' }, SVG);
    svg.appendChild(el('path', { 'class': 'rapport-icon-open', d: 'M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z' }, SVG));
    svg.appendChild(el('path', { 'class': 'rapport-icon-close', d: 'M6 6l12 12M18 6L6 18' }, SVG));
    return svg;
  }

  function inject() {
    if (launcher) return;
    if (!style) {
      style = el('style', { id: 'rapport-style' });
      style.textContent = CSS;
      (d.head || d.documentElement).appendChild(style);
    }

    var frame = el('iframe', {
      id: 'rapport-frame',
      'data-testid': 'rapport-frame',
      title: 'Chat',
      'aria-hidden': 'true'
    });
    frame.src = origin + '/messenger?app_id=' + encodeURIComponent(settings.app_id);
    messenger = { frame: frame, ready: false, outbox: [] };

    // Shown once the messenger runs: an unknown app_id, or a site missing
    // from the workspace's allowed origins, gets no launcher at all.
    launcher = el('button', {
      'class': 'rapport-waiting',
      id: 'rapport-launcher',
      type: 'button',
      'data-testid': 'rapport-launcher',
      'aria-label': label(false),
      'aria-expanded': 'false',
      'aria-controls': 'rapport-frame',
      'aria-describedby': 'rapport-sr'
    });
    launcher.appendChild(icon());
    badge = el('span', { id: 'rapport-badge', 'data-testid': 'rapport-badge', 'aria-hidden': 'true' });
    badge.hidden = true;
    launcher.appendChild(badge);
    badgeText = el('span', { id: 'rapport-sr' });
    launcher.appendChild(badgeText);
    launcher.addEventListener('click', function () {
      setOpen(!isOpen, true);
    });
    launcher.addEventListener('keydown', function (event) {
      if (event.key === 'Escape' && isOpen) setOpen(false, true);
    });

    // The launcher first: Tab from it goes into the open chat. A script in
    // <head> may run before <body> exists.
    var nodes = [launcher, frame];
    var attach = function () {
      if (messenger && messenger.frame === frame) {
        nodes.forEach(function (node) {
          d.body.appendChild(node);
        });
      }
    };
    if (d.body) attach();
    else d.addEventListener('DOMContentLoaded', attach);
    isOpen = false;
    unread = 0;
    showUnread(0);
  }

  function detach(node) {
    if (node && node.parentNode) node.parentNode.removeChild(node);
  }

  // Commands to a messenger wait until it says it is ready.
  function post(target, message) {
    message.rapport = 'cmd';
    if (target.ready && target.frame.contentWindow) {
      target.frame.contentWindow.postMessage(message, origin);
    } else {
      target.outbox.push(message);
    }
  }

  function send(message) {
    if (messenger) post(messenger, message);
  }

  function setOpen(open, moveFocus) {
    if (!launcher) return;
    if (!messenger.ready) {
      messenger.openWhenReady = open;
      return;
    }
    var frame = messenger.frame;
    isOpen = open;
    frame.className = open ? 'rapport-open' : '';
    launcher.className = open ? 'rapport-open' : '';
    frame.setAttribute('aria-hidden', open ? 'false' : 'true');
    launcher.setAttribute('aria-expanded', open ? 'true' : 'false');
    launcher.setAttribute('aria-label', label(open));
    send({ cmd: open ? 'open' : 'close' });
    if (!moveFocus) return;
    if (open) {
      // The messenger then puts the focus on its composer.
      if (frame.contentWindow) frame.contentWindow.focus();
    } else {
      launcher.focus();
    }
  }

  function showUnread(count) {
    var changed = count !== unread;
    unread = count;
    if (badge) {
      badge.hidden = count <= 0;
      badge.textContent = count > 99 ? '99+' : String(count);
      badgeText.textContent = count > 0 ? count + ' unread message' + (count === 1 ? '' : 's') : '';
    }
    if (!changed) return;
    unreadListeners.forEach(function (fn) {
      try {
        fn(count);
      } catch (e) {
        if (w.console) console.error('Rapport: onUnreadCountChange callback failed', e);
      }
    });
  }

  function pageView() {
    if (!settings) return;
    var url = location.href;
    if (url === lastPageUrl) return;
    lastPageUrl = url;
    send({ cmd: 'track', name: '$page_view', params: { url: url, title: d.title } });
  }

  // Single-page apps change the URL with pushState; the title usually
  // follows a moment later, so read both after a short pause.
  function schedulePageView() {
    clearTimeout(pageViewTimer);
    pageViewTimer = setTimeout(pageView, 100);
  }

  function watchHistory() {
    if (historyPatched) return;
    historyPatched = true;
    var push = history.pushState;
    if (typeof push === 'function') {
      history.pushState = function () {
        var result = push.apply(this, arguments);
        schedulePageView();
        return result;
      };
    }
    w.addEventListener('popstate', schedulePageView);
  }

  function leave(target) {
    leaving = leaving.filter(function (m) {
      return m !== target;
    });
    detach(target.frame);
  }

  w.addEventListener('message', function (event) {
    if (event.origin !== origin) return;
    var data = event.data;
    if (!isObject(data) || typeof data.rapport !== 'string') return;
    var target = null;
    [messenger].concat(leaving).forEach(function (m) {
      if (m && m.frame.contentWindow === event.source) target = m;
    });
    if (!target) return;
    if (data.rapport === 'ready') {
      target.ready = true;
      var pending = target.outbox;
      target.outbox = [];
      pending.forEach(function (message) {
        post(target, message);
      });
      if (target === messenger) {
        launcher.className = '';
        if (target.openWhenReady) setOpen(true, true);
      }
      return;
    }
    if (data.rapport === 'shutdown') {
      // It forgot the visitor: now its iframe can go.
      leave(target);
      return;
    }
    if (target !== messenger) return;
    if (data.rapport === 'unread') {
      showUnread(Math.max(0, Math.floor(Number(data.count)) || 0));
    } else if (data.rapport === 'open') {
      if (!isOpen) setOpen(true, true);
    } else if (data.rapport === 'close') {
      if (isOpen) setOpen(false, true);
    }
  });

  // The launcher's label in the visitor's language (the messenger has the rest: lang/*.js).
  var LABELS = { en: ['Open chat', 'Close chat'], de: ['Chat öffnen', 'Chat schließen'],
    es: ['Abrir el chat', 'Cerrar el chat'], fr: ['Ouvrir le chat', 'Fermer le chat'] };
  function label(open) {
    var tags = [settings && settings.language].concat(w.navigator.languages || [w.navigator.language]);
    for (var i = 0; i < tags.length; i++) {
      var code = String(tags[i] || '').toLowerCase().split(/[-_]/)[0];
      if (Object.prototype.hasOwnProperty.call(LABELS, code)) return LABELS[code][open ? 1 : 0];
    }
    return LABELS.en[open ? 1 : 0];
  }

  var commands = {
    boot: function (options) {
      options = plain(options);
      if (!isObject(options) || typeof options.app_id !== 'string' || !options.app_id) {
        if (w.console) console.warn('Rapport: boot needs { app_id: "..." }');
        return;
      }
      // The messenger only boots the app its URL names: another app gets
      // a messenger of its own.
      if (settings && settings.app_id !== options.app_id) commands.shutdown();
      settings = options;
      inject();
      // The host page may theme the launcher with --rapport-accent; the
      // messenger, another document, gets the same colour.
      var themed = launcher.isConnected ? launcher : d.documentElement;
      var accent = getComputedStyle(themed).getPropertyValue('--rapport-accent').trim();
      send({ cmd: 'boot', settings: options, theme: accent ? { accent: accent } : null });
      watchHistory();
      lastPageUrl = null;
      pageView();
    },
    update: function (props) {
      props = plain(props);
      if (!settings || !isObject(props)) return;
      send({ cmd: 'update', props: props });
      schedulePageView();
    },
    track: function (name, params) {
      if (!settings || typeof name !== 'string' || !name) return;
      params = plain(params);
      send({ cmd: 'track', name: name, params: isObject(params) ? params : {} });
    },
    show: function () {
      if (settings && !isOpen) setOpen(true, true);
    },
    hide: function () {
      if (settings && isOpen) setOpen(false, false);
    },
    shutdown: function () {
      if (!settings) return;
      var target = messenger;
      // Only the forgetting is left for it to do; a fresh boot may follow
      // at once and gets a new launcher and iframe.
      target.outbox = [];
      post(target, { cmd: 'shutdown', app_id: settings.app_id });
      target.frame.style.setProperty('display', 'none', 'important');
      target.frame.removeAttribute('id');
      target.frame.removeAttribute('data-testid');
      leaving.push(target);
      setTimeout(function () {
        leave(target);
      }, 5000);
      detach(launcher);
      launcher = badge = badgeText = messenger = settings = null;
      isOpen = false;
      lastPageUrl = null;
      showUnread(0);
    },
    onUnreadCountChange: function (fn) {
      if (typeof fn === 'function') unreadListeners.push(fn);
    }
  };

  function handle(args) {
    var name = args[0];
    var command = Object.prototype.hasOwnProperty.call(commands, name) && commands[name];
    if (!command) {
      if (w.console) console.warn('Rapport: unknown command', name);
      return;
    }
    try {
      command.apply(null, Array.prototype.slice.call(args, 1));
    } catch (e) {
      if (w.console) console.error('Rapport: ' + name + ' failed', e);
    }
  }

  var queued = (w.Rapport && w.Rapport.q) || [];
  var api = function () {
    handle(arguments);
  };
  api.loaded = true;
  w.Rapport = api;
  for (var i = 0; i < queued.length; i++) handle(queued[i]);
})();
