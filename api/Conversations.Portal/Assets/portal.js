// The portal's one script: a copy button for a secret shown once. Pages work without it.
document.addEventListener('click', async (event) => {
  const button = event.target.closest('button[data-copy]');
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  if (!field) return;
  try {
    await navigator.clipboard.writeText(field.value);
    button.textContent = 'Copied';
  } catch {
    field.select(); // no clipboard access (an insecure origin): select it for Ctrl+C
  }
});
