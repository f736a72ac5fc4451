// Copy text for the "Copy" buttons; falls back to selecting the text where
// the Clipboard API is unavailable (plain http on a LAN address).

export async function copyText(text, fallbackElement) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (fallbackElement) {
      const selection = window.getSelection();
      const range = document.createRange();
      range.selectNodeContents(fallbackElement);
      selection.removeAllRanges();
      selection.addRange(range);
      try {
        return document.execCommand('copy');
      } catch {
        return false;
      }
    }
    return false;
  }
}
