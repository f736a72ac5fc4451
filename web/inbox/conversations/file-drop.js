// Files dragged over the open thread: the pane shows a hint ("Drop files
// to attach them", `.is-dropping` on the target) while they are over it,
// and a drop hands them to the composer. Drags of text or links are left
// alone; files while no conversation is open, or when the workspace takes
// none (`accepts()` false), are refused, so the browser does not open them
// in place of the Inbox.
//
//   const stop = watchFileDrops(target, { accepts, onFiles });

import { carriesFiles, droppedFiles } from '../data/attachments.js';

export function watchFileDrops(target, { accepts = () => true, onFiles }) {
  const listening = new AbortController();
  const on = (type, fn) => target.addEventListener(type, fn, { signal: listening.signal });
  let depth = 0; // dragenter / dragleave pairs over the target's children
  const wanted = (event) => carriesFiles(event.dataTransfer) && accepts();
  const stopShowing = () => {
    depth = 0;
    target.classList.remove('is-dropping');
  };

  on('dragenter', (event) => {
    if (!wanted(event)) return;
    event.preventDefault();
    depth += 1;
    target.classList.add('is-dropping');
  });
  on('dragover', (event) => {
    if (!carriesFiles(event.dataTransfer)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = accepts() ? 'copy' : 'none';
  });
  on('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (!depth) target.classList.remove('is-dropping');
  });
  on('drop', (event) => {
    if (!carriesFiles(event.dataTransfer)) return;
    event.preventDefault();
    stopShowing();
    if (!accepts()) return;
    const files = droppedFiles(event.dataTransfer);
    if (files.length) onFiles(files);
  });

  return () => {
    stopShowing();
    listening.abort();
  };
}
