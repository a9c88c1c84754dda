/**
 * Class names of a YOLO dataset from a `classes.txt` (one name a line) or the `names:` entry of a
 * data.yaml, in any of the three shapes Ultralytics writes: a flow list `names: [a, b]`, a block
 * list (`- a`), or a map by id (`0: a`). Only `names` is read, so no YAML library is needed; null
 * when the file has no names.
 */
export function parseYoloClassNames(text: string, fileName: string): string[] | null {
  if (!/\.ya?ml$/i.test(fileName)) {
    const names = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
    return names.length ? names : null;
  }
  const lines = text.split(/\r?\n/);
  const at = lines.findIndex((l) => /^names\s*:/.test(l));
  if (at < 0) return null;
  const inline = (lines[at] as string).replace(/^names\s*:/, '').replace(/\s+#.*$/, '').trim();
  if (inline.startsWith('[')) {
    const body = inline.replace(/^\[/, '').replace(/\]$/, '');
    const names = body.split(',').map(unquote).filter(Boolean);
    return names.length ? names : null;
  }
  const byId = new Map<number, string>();
  const list: string[] = [];
  for (const line of lines.slice(at + 1)) {
    if (!line.trim() || /^\s*#/.test(line)) continue;
    if (!/^\s/.test(line)) break;
    const item = /^\s*-\s*(.+)$/.exec(line);
    const entry = /^\s*(\d+)\s*:\s*(.+)$/.exec(line);
    if (item) list.push(unquote(item[1] as string));
    else if (entry) byId.set(Number(entry[1]), unquote(entry[2] as string));
  }
  if (byId.size) {
    const names: string[] = [];
    for (const [id, name] of byId) names[id] = name;
    return Array.from(names, (n) => n ?? '');
  }
  return list.length ? list : null;
}

function unquote(raw: string): string {
  const v = raw.replace(/\s+#.*$/, '').trim();
  return /^(['"]).*\1$/.test(v) ? v.slice(1, -1) : v;
}
