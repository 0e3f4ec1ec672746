'use strict';
// A reader for the small YAML subset that .m365agentsplayground.yml uses: nested mappings,
// lists of mappings, plain or quoted scalars and # comments. (No YAML package is needed for
// one well-known file; every value comes back as a string.)

function stripComment(line) {
  let quote = null;
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]))) {
      return line.slice(0, i);
    }
  }
  return line;
}

function scalar(text) {
  const t = text.trim();
  if (t.length >= 2 && ((t[0] === '"' && t.endsWith('"')) || (t[0] === "'" && t.endsWith("'")))) {
    return t.slice(1, -1);
  }
  return t;
}

function parseYaml(source) {
  const lines = source
    .split(/\r?\n/)
    .map(stripComment)
    .filter((l) => l.trim() !== '' && l.trim() !== '---')
    .map((l) => ({ indent: l.match(/^ */)[0].length, text: l.trim() }));
  let i = 0;

  function isItem(line) {
    return line.text === '-' || line.text.startsWith('- ');
  }

  function parseList(indent) {
    const list = [];
    while (i < lines.length && lines[i].indent === indent && isItem(lines[i])) {
      const rest = lines[i].text.slice(1).trim();
      if (rest === '') {
        i += 1;
        list.push(i < lines.length && lines[i].indent > indent ? parseBlock(lines[i].indent) : null);
      } else if (/^[^'"][^:]*:(\s|$)/.test(rest)) {
        // "- key: value" starts a mapping whose keys line up with "key".
        lines[i] = { indent: indent + 2, text: rest };
        list.push(parseMap(indent + 2));
      } else {
        i += 1;
        list.push(scalar(rest));
      }
    }
    return list;
  }

  function parseMap(indent) {
    const map = {};
    while (i < lines.length && lines[i].indent === indent && !isItem(lines[i])) {
      const match = lines[i].text.match(/^([^:]+):(?:\s+(.*))?$/);
      if (!match) throw new Error(`cannot read YAML line: ${lines[i].text}`);
      const key = scalar(match[1]);
      i += 1;
      if (match[2] !== undefined && match[2] !== '') {
        map[key] = scalar(match[2]);
      } else if (i < lines.length && lines[i].indent > indent) {
        map[key] = parseBlock(lines[i].indent);
      } else if (i < lines.length && lines[i].indent === indent && isItem(lines[i])) {
        map[key] = parseList(indent);
      } else {
        map[key] = null;
      }
    }
    return map;
  }

  function parseBlock(indent) {
    return isItem(lines[i]) ? parseList(indent) : parseMap(indent);
  }

  return lines.length ? parseBlock(lines[0].indent) : null;
}

module.exports = { parseYaml };
