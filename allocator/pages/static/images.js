// My images: the user's outputs from their store, newest first, across sessions;
// a click shows one large, with a download link.
(() => {
  const { api, signedIn, el, ago } = window.sdfleet;
  const $ = (id) => document.getElementById(id);
  const show = (img) => {
    $('viewer-img').src = img.url;
    $('viewer-img').alt = img.path;
    $('viewer-name').textContent = img.path.split('/').pop();
    $('download').href = `${img.url}?download`;
    $('viewer').showModal();
  };
  $('close-viewer').addEventListener('click', () => $('viewer').close());
  const load = async () => {
    if (!(await signedIn())) return;
    const { images } = await api('GET', '/images');
    $('count').textContent = `${images.length} image${images.length === 1 ? '' : 's'}`;
    if (images.length === 0) $('message').textContent = 'No images yet. Everything you generate in your WebUI is kept here, across sessions.';
    $('grid').replaceChildren(...images.map((img) => el('figure', { class: 'tile' },
      el('button', { type: 'button', onclick: () => show(img), 'aria-label': `Open ${img.path}` },
        el('img', { src: img.url, alt: img.path.split('/').pop(), loading: 'lazy' })),
      el('figcaption', { class: 'meta' }, el('span', {}, `${ago(img.modified)} ago`), el('a', { href: `${img.url}?download`, download: '' }, 'Download')),
    )));
  };
  load().catch((err) => {
    $('message').textContent = err.message;
    $('message').className = 'status error';
  });
})();
