// The knowledge page: while a document is being chunked and embedded, re-read the page's documents section every second
// (the same server-rendered HTML, as the session's key) so its progress bars move; stop when none is processing.
(() => {
  const status = document.getElementById('knowledge-status');
  const section = () => document.getElementById('documents');
  const poll = async () => {
    const current = section();
    if (!current || !current.dataset.processing) return;
    try {
      const response = await fetch(location.pathname, { credentials: 'same-origin', headers: { 'Accept': 'text/html' } });
      if (!response.ok) return; // signed out or gone: the page stays as it is
      const next = new DOMParser().parseFromString(await response.text(), 'text/html').getElementById('documents');
      if (!next) return;
      current.replaceWith(document.adoptNode(next));
      if (!next.dataset.processing) {
        status.textContent = 'Every document is chunked and embedded.';
        return;
      }
    } catch {
      // a network error: try again on the next tick
    }
    setTimeout(poll, 1000);
  };
  setTimeout(poll, 1000);
})();
