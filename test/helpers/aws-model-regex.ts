/**
 * Java regular expressions (the dialect of the `pattern` constraints in botocore models, which AWS
 * checks server-side with full-match semantics) translated to JavaScript `u`-mode RegExps.
 *
 * What differs and is translated: `\A` `\z` `\Z` anchors, `(?i)` leading flag, `\Q…\E` quoting,
 * identity escapes JS rejects in `u` mode (`\_`, `\:`, `\-` outside a class…), a `-` next to a class
 * escape inside `[…]` (`[\w-_]` is a literal `-` in Java, an error in JS), Java's ASCII-only `\s`
 * and `\v`, `\h`, `\e`, `\a`, octal `\0nn`, `\x{…}`, POSIX `\p{Alpha}`-style classes and `\p{IsL}`.
 * What JS cannot express (nested class unions and intersections, possessive quantifiers, atomic
 * groups, inline flags other than a leading `(?i)`, `\p{InBlock}`) throws UntranslatableRegex, so a
 * pattern is never silently skipped or approximated.
 */

export class UntranslatableRegex extends Error {
  constructor(pattern: string, why: string) {
    super(`Java pattern ${JSON.stringify(pattern)} has no JavaScript equivalent: ${why}`);
    this.name = 'UntranslatableRegex';
  }
}

// Java's \s is ASCII whitespace; JS \s also matches these Unicode spaces, so Java's \S includes them.
const ASCII_SPACE = ' \\t\\n\\x0B\\f\\r';
const UNICODE_ONLY_SPACE = '\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000\\uFEFF';
const HORIZONTAL_SPACE = ' \\t\\xA0\\u1680\\u180E\\u2000-\\u200A\\u202F\\u205F\\u3000';
const VERTICAL_SPACE = '\\n\\x0B\\f\\r\\x85\\u2028\\u2029';

// Java's POSIX classes (US-ASCII only unless UNICODE_CHARACTER_CLASS), as class bodies.
const POSIX: Record<string, string> = {
  Lower: 'a-z',
  Upper: 'A-Z',
  ASCII: '\\x00-\\x7F',
  Alpha: 'a-zA-Z',
  Digit: '0-9',
  Alnum: 'a-zA-Z0-9',
  Punct: '!-\\/:-@\\[-`{-~',
  Graph: '!-~',
  Print: ' -~',
  Blank: ' \\t',
  Cntrl: '\\x00-\\x1F\\x7F',
  XDigit: '0-9a-fA-F',
  Space: ASCII_SPACE,
};

const SYNTAX = new Set('^$\\.*+?()[]{}|/');
const CLASS_ESCAPE_LETTERS = new Set(['d', 'D', 'w', 'W', 's', 'S', 'p', 'P', 'h', 'H', 'v', 'V']);

export interface TranslatedRegex {
  source: string;
  flags: string;
}

/** The JS source and flags of a Java pattern (not anchored: callers decide full or partial match). */
export function translateJavaRegex(pattern: string): TranslatedRegex {
  let src = pattern;
  let flags = 'u';
  if (src.startsWith('(?i)')) {
    flags += 'i';
    src = src.slice(4);
  }
  let out = '';
  let inClass = false;
  /** The previous atom in the current class was a class escape (\w, \d, \p{..}…). */
  let prevWasClassEscape = false;
  /** Nothing has been emitted yet in the current class (after `[` or `[^`). */
  let atClassStart = false;
  const fail = (why: string): never => {
    throw new UntranslatableRegex(pattern, why);
  };
  const literal = (ch: string): string => {
    if (inClass) return ch === '\\' || ch === ']' || ch === '-' || ch === '^' || ch === '[' ? `\\${ch}` : ch;
    return SYNTAX.has(ch) ? `\\${ch}` : ch;
  };
  const nextIsClassEscape = (at: number): boolean => src[at] === '\\' && CLASS_ESCAPE_LETTERS.has(src[at + 1] ?? '');

  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\\') {
      const n = src[i + 1] ?? fail('trailing backslash');
      let emitted: string;
      let classEscape = false;
      let width = 2;
      switch (n) {
        case 'A':
          if (inClass) fail('\\A inside a class');
          emitted = '^';
          break;
        case 'z':
          if (inClass) fail('\\z inside a class');
          emitted = '$';
          break;
        case 'Z':
          if (inClass) fail('\\Z inside a class');
          emitted = '(?=[\\n\\r\\u0085\\u2028\\u2029]?$)';
          break;
        case 'Q': {
          const end = src.indexOf('\\E', i + 2);
          const text = src.slice(i + 2, end < 0 ? src.length : end);
          emitted = [...text].map(literal).join('');
          width = (end < 0 ? src.length : end + 2) - i;
          break;
        }
        case 'p':
        case 'P': {
          let name: string;
          if (src[i + 2] === '{') {
            const end = src.indexOf('}', i + 3);
            if (end < 0) fail('unclosed \\p{');
            name = src.slice(i + 3, end);
            width = end + 1 - i;
          } else {
            name = src[i + 2] ?? fail('\\p without a name');
            width = 3;
          }
          classEscape = true;
          const posix = POSIX[name];
          if (posix !== undefined) {
            if (n === 'P' && inClass) fail(`\\P{${name}} inside a class`);
            emitted = inClass ? posix : `[${n === 'P' ? '^' : ''}${posix}]`;
          } else {
            if (/^In/.test(name)) fail(`Unicode block \\p{${name}}`);
            if (/^java/.test(name)) fail(`Java character property \\p{${name}}`);
            if (/^Is/.test(name)) name = name.slice(2);
            emitted = `\\${n}{${name}}`;
          }
          break;
        }
        case 's':
          classEscape = true;
          emitted = inClass ? ASCII_SPACE : `[${ASCII_SPACE}]`;
          break;
        case 'S':
          classEscape = true;
          emitted = inClass ? `\\S${UNICODE_ONLY_SPACE}` : `[\\S${UNICODE_ONLY_SPACE}]`;
          break;
        case 'h':
          classEscape = true;
          emitted = inClass ? HORIZONTAL_SPACE : `[${HORIZONTAL_SPACE}]`;
          break;
        case 'v':
          classEscape = true;
          emitted = inClass ? VERTICAL_SPACE : `[${VERTICAL_SPACE}]`;
          break;
        case 'H':
        case 'V':
          if (inClass) fail(`\\${n} inside a class`);
          classEscape = true;
          emitted = `[^${n === 'H' ? HORIZONTAL_SPACE : VERTICAL_SPACE}]`;
          break;
        case 'd':
        case 'D':
        case 'w':
        case 'W':
          classEscape = true;
          emitted = `\\${n}`;
          break;
        case 'b':
        case 'B':
          if (inClass) fail(`\\${n} inside a class`);
          emitted = `\\${n}`;
          break;
        case 't':
        case 'n':
        case 'r':
        case 'f':
          emitted = `\\${n}`;
          break;
        case 'e':
          emitted = '\\x1B';
          break;
        case 'a':
          emitted = '\\x07';
          break;
        case 'c':
          emitted = `\\c${src[i + 2] ?? fail('\\c without a letter')}`;
          width = 3;
          break;
        case 'u': {
          const hex = src.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('\\u needs 4 hex digits');
          emitted = `\\u${hex}`;
          width = 6;
          break;
        }
        case 'x': {
          if (src[i + 2] === '{') {
            const end = src.indexOf('}', i + 3);
            const hex = src.slice(i + 3, end);
            if (end < 0 || !/^[0-9a-fA-F]+$/.test(hex)) fail('bad \\x{…}');
            emitted = `\\u{${hex}}`;
            width = end + 1 - i;
          } else {
            const hex = src.slice(i + 2, i + 4);
            if (!/^[0-9a-fA-F]{2}$/.test(hex)) fail('\\x needs 2 hex digits');
            emitted = `\\x${hex}`;
            width = 4;
          }
          break;
        }
        case '0': {
          // Java octal: \0n, \0nn, \0mnn (m <= 3).
          const m = /^[0-3]?[0-7]{1,2}/.exec(src.slice(i + 2)) ?? fail('\\0 needs octal digits');
          emitted = `\\u{${parseInt(m[0], 8).toString(16)}}`;
          width = 2 + m[0].length;
          break;
        }
        case 'k':
          emitted = '\\k';
          break;
        default:
          if (/[1-9]/.test(n)) {
            if (inClass) fail('back reference inside a class');
            emitted = `\\${n}`;
          } else if (/[a-zA-Z]/.test(n)) {
            fail(`escape \\${n}`);
          } else {
            emitted = literal(n);
          }
      }
      out += emitted!;
      i += width;
      if (inClass) {
        prevWasClassEscape = classEscape;
        atClassStart = false;
      }
      continue;
    }

    if (inClass) {
      if (c === ']') {
        inClass = false;
        out += ']';
      } else if (c === '[') {
        fail('nested character class (Java union)');
      } else if (c === '&' && src[i + 1] === '&') {
        fail('character class intersection');
      } else if (c === '-') {
        // A '-' that cannot be a range (next to a class escape, or last) is a literal in Java.
        const isRangeOperator = !prevWasClassEscape && !nextIsClassEscape(i + 1) && src[i + 1] !== ']' && !atClassStart;
        out += isRangeOperator ? '-' : '\\-';
        prevWasClassEscape = false;
      } else {
        out += c;
        prevWasClassEscape = false;
      }
      atClassStart = false;
      i += 1;
      continue;
    }

    if (c === '[') {
      inClass = true;
      prevWasClassEscape = false;
      atClassStart = true;
      out += '[';
      i += 1;
      if (src[i] === '^') {
        out += '^';
        i += 1;
      }
      continue;
    }
    if (c === '(' && src[i + 1] === '?') {
      const rest = src.slice(i + 2);
      if (rest.startsWith('>')) fail('atomic group');
      if (!/^(:|=|!|<=|<!|<[a-zA-Z])/.test(rest)) fail(`inline flags or group "(?${rest.slice(0, 3)}"`);
      out += '(?';
      i += 2;
      continue;
    }
    if (c === '{') {
      const q = /^\{\d+(,\d*)?\}/.exec(src.slice(i));
      if (q) {
        out += q[0];
        i += q[0].length;
        if (src[i] === '+') fail('possessive quantifier');
        continue;
      }
      out += '\\{';
      i += 1;
      continue;
    }
    if (c === '}') {
      out += '\\}';
      i += 1;
      continue;
    }
    if ((c === '*' || c === '+' || c === '?') && src[i + 1] === '+') fail('possessive quantifier');
    out += c;
    i += 1;
  }
  if (inClass) fail('unclosed character class');
  return { source: out, flags };
}

const compiled = new Map<string, RegExp | UntranslatableRegex>();

/**
 * A RegExp that tests whether a whole value matches the Java pattern (AWS validates with
 * full-match semantics), or the reason it cannot be built. Cached per pattern.
 */
export function fullMatchRegex(pattern: string): RegExp | UntranslatableRegex {
  let re = compiled.get(pattern);
  if (!re) {
    try {
      const { source, flags } = translateJavaRegex(pattern);
      try {
        re = new RegExp(`^(?:${source})$`, flags);
      } catch (err) {
        re = new UntranslatableRegex(pattern, `JavaScript rejects its translation /${source}/${flags}: ${(err as Error).message}`);
      }
    } catch (err) {
      if (!(err instanceof UntranslatableRegex)) throw err;
      re = err;
    }
    compiled.set(pattern, re);
  }
  return re;
}
