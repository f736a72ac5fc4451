// The channel to the host page's loader (/widget.js) through postMessage.
//
// Only `window.parent` may command the messenger, and only from the origin
// that booted it first: another frame or a later navigation of the parent
// to another site is ignored. Answers go to that origin only.

export class HostChannel {
  /** @param {(command: object) => void} onCommand */
  constructor(onCommand) {
    this.onCommand = onCommand;
    this.origin = null;
    this.embedded = window.parent !== window;
    window.addEventListener('message', (event) => this.receive(event));
  }

  receive(event) {
    if (!this.embedded || event.source !== window.parent) return;
    const data = event.data;
    if (!data || typeof data !== 'object' || data.rapport !== 'cmd' || typeof data.cmd !== 'string') return;
    if (this.origin === null) {
      // The first command the loader sends is `boot` (or, for a widget
      // shut down before it started, `shutdown`).
      if (data.cmd !== 'boot' && data.cmd !== 'shutdown') return;
      this.origin = event.origin;
    } else if (event.origin !== this.origin) {
      return;
    }
    this.onCommand(data);
  }

  /** Tells the loader we listen; carries nothing private, so any origin may read it. */
  announceReady() {
    if (this.embedded) window.parent.postMessage({ rapport: 'ready' }, '*');
  }

  post(message) {
    if (!this.embedded || this.origin === null) return;
    window.parent.postMessage(message, this.origin);
  }
}
