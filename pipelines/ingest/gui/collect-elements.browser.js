// Runs inside the rendered page (page.evaluate): plain browser JavaScript, read as text by
// collect-elements.ts, never compiled or imported by Node.
//
// Lists the visible elements of the viewport: interactive ones (links, buttons, form fields, ARIA
// buttons, click handlers), images with alt text and text blocks (headings, paragraphs, list items,
// labels, table cells). Boxes are CSS pixels of the layout viewport, clipped to it.
(opts) => {
  const INTERACTIVE = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button], [role=link], [role=checkbox], [role=radio], [role=tab], [role=menuitem], [role=switch], [onclick]';
  const IMAGE = 'img[alt]:not([alt=""])';
  const TEXT = 'h1, h2, h3, h4, h5, h6, p, li, label, figcaption, dt, dd, th, td, caption, blockquote';
  const vw = window.innerWidth;
  const vh = window.innerHeight;
  const clean = (s) => (s || '').replace(/\s+/g, ' ').trim();
  const skipped = { hidden: 0, zero_size: 0, outside_viewport: 0, unnamed: 0, too_long: 0, nested: 0, occluded: 0 };

  const roleOf = (el, kind) => {
    const tag = el.tagName.toLowerCase();
    const type = (el.getAttribute('type') || '').toLowerCase();
    const role = (el.getAttribute('role') || '').toLowerCase();
    if (role === 'button' || tag === 'button' || (tag === 'input' && ['button', 'submit', 'reset', 'image'].includes(type))) return 'button';
    if (role === 'link' || tag === 'a') return 'link';
    if (role === 'checkbox' || (tag === 'input' && type === 'checkbox')) return 'checkbox';
    if (role === 'radio' || (tag === 'input' && type === 'radio')) return 'radio button';
    if (role === 'tab') return 'tab';
    if (role === 'menuitem') return 'menu item';
    if (role === 'switch') return 'switch';
    if (tag === 'input' || tag === 'textarea') return 'text field';
    if (tag === 'select') return 'dropdown';
    if (tag === 'summary') return 'disclosure';
    if (kind === 'image') return 'image';
    if (/^h[1-6]$/.test(tag)) return 'heading';
    if (kind === 'interactive') return 'clickable element';
    return 'text';
  };

  const nameOf = (el, kind) => {
    const aria = clean(el.getAttribute('aria-label'));
    if (aria) return aria;
    const labelledBy = el.getAttribute('aria-labelledby');
    if (labelledBy) {
      const text = clean(labelledBy.split(/\s+/).map((id) => document.getElementById(id)?.innerText || '').join(' '));
      if (text) return text;
    }
    const tag = el.tagName.toLowerCase();
    if (tag === 'input' || tag === 'textarea' || tag === 'select') {
      const type = (el.getAttribute('type') || '').toLowerCase();
      if (['submit', 'button', 'reset'].includes(type)) return clean(el.value) || type;
      if (type === 'image') return clean(el.getAttribute('alt') || el.getAttribute('title'));
      const label = el.labels && el.labels.length ? clean([...el.labels].map((l) => l.innerText).join(' ')) : '';
      return label || clean(el.getAttribute('placeholder')) || clean(el.getAttribute('title')) || clean(el.getAttribute('name'));
    }
    if (tag === 'img') return clean(el.getAttribute('alt') || el.getAttribute('title'));
    const text = clean(el.innerText);
    if (text || kind === 'text') return text;
    const img = el.querySelector('img[alt]');
    return clean(img?.getAttribute('alt')) || clean(el.getAttribute('title'));
  };

  // On top when the centre of one of its boxes (a link wrapped over lines has one per line; the
  // centre of their union may fall between them) hits the element or something inside it.
  const isOnTop = (el) => {
    for (const r of el.getClientRects()) {
      const left = Math.max(0, r.left);
      const right = Math.min(vw, r.right);
      const top = Math.max(0, r.top);
      const bottom = Math.min(vh, r.bottom);
      if (right - left < 1 || bottom - top < 1) continue;
      const hit = document.elementFromPoint((left + right) / 2, (top + bottom) / 2);
      if (hit && (hit === el || el.contains(hit) || (el.labels && [...el.labels].some((l) => l.contains(hit))))) return true;
    }
    return false;
  };

  const out = [];
  for (const el of document.querySelectorAll(`${INTERACTIVE}, ${IMAGE}, ${TEXT}`)) {
    const kind = el.matches(INTERACTIVE) ? 'interactive' : el.matches(IMAGE) ? 'image' : 'text';
    if (kind === 'text' && el.querySelector(TEXT)) {
      skipped.nested++;
      continue;
    }
    if (!el.checkVisibility({ opacityProperty: true, visibilityProperty: true })) {
      skipped.hidden++;
      continue;
    }
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) {
      skipped.zero_size++;
      continue;
    }
    const x1 = Math.max(0, r.left);
    const y1 = Math.max(0, r.top);
    const x2 = Math.min(vw, r.right);
    const y2 = Math.min(vh, r.bottom);
    if (x2 - x1 < 2 || y2 - y1 < 2) {
      skipped.outside_viewport++;
      continue;
    }
    const name = nameOf(el, kind);
    if (!/[\p{L}\p{N}]/u.test(name)) {
      skipped.unnamed++;
      continue;
    }
    if (name.length > opts.maxTextChars) {
      skipped.too_long++;
      continue;
    }
    if (kind === 'text') {
      // A block that is only its links/buttons (plus separators) is those elements, not text of its own.
      let rest = name;
      for (const child of el.querySelectorAll(INTERACTIVE)) rest = rest.replace(nameOf(child), '');
      if (!/[\p{L}\p{N}]/u.test(rest)) {
        skipped.nested++;
        continue;
      }
    }
    if (!isOnTop(el)) {
      skipped.occluded++;
      continue;
    }
    out.push({
      tag: el.tagName.toLowerCase(),
      kind,
      role: roleOf(el, kind),
      name,
      box: { x1, y1, x2, y2 },
      clipped: x1 !== r.left || y1 !== r.top || x2 !== r.right || y2 !== r.bottom,
      href: el.getAttribute('href'),
      type: el.getAttribute('type'),
    });
    if (out.length >= opts.hardLimit) break;
  }
  return { viewport: { width: vw, height: vh }, title: document.title, url: location.href, elements: out, skipped };
}
