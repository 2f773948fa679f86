// A file dragged onto the page outside the picture drop zone, or before the
// app has started (the page is pre-rendered, so the drop zone is there at
// once but cannot take the file yet), must not replace the page with the
// file, which the browser does by default. So a file drag that no element
// claimed (the drop zone calls preventDefault once the app runs) is refused
// here: the pointer shows that nothing can be dropped, and nothing is lost.
for (const type of ['dragenter', 'dragover', 'drop']) {
  window.addEventListener(type, (event) => {
    const dt = event.dataTransfer;
    if (event.defaultPrevented || !dt || !Array.from(dt.types).includes('Files')) return;
    event.preventDefault();
    dt.dropEffect = 'none';
  });
}
