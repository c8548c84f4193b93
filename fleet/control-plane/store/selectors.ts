/**
 * Label and field selectors, parsed once into matchers. Grammar and messages follow
 * apimachinery's `labels.Parse` and `fields.ParseSelector` for the parts clients use:
 * `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, comma = AND.
 */
import { labelValueErrors, qualifiedNameErrors } from '../../kube/names.ts';
import { badRequest } from './errors.ts';
import type { KubeObject } from './types.ts';

export type LabelRequirement =
  | { key: string; op: 'in'; values: ReadonlySet<string> }
  | { key: string; op: 'notin'; values: ReadonlySet<string> }
  | { key: string; op: 'exists' }
  | { key: string; op: '!' };

/** A parsed label selector. `matches` never allocates. */
export interface LabelSelector {
  readonly requirements: readonly LabelRequirement[];
  /** True when it has no requirements and so selects everything. */
  readonly empty: boolean;
  matches(labels: Readonly<Record<string, string>> | undefined): boolean;
  toString(): string;
}

const NOTHING: Readonly<Record<string, string>> = Object.freeze({});

export function labelSelectorFromRequirements(requirements: LabelRequirement[], text?: string): LabelSelector {
  const reqs = requirements.slice();
  return {
    requirements: reqs,
    empty: reqs.length === 0,
    matches(labels) {
      const l = labels ?? NOTHING;
      for (const r of reqs) {
        const v = l[r.key];
        switch (r.op) {
          case 'in':
            if (v === undefined || !r.values.has(v)) return false;
            break;
          case 'notin':
            if (v !== undefined && r.values.has(v)) return false;
            break;
          case 'exists':
            if (v === undefined) return false;
            break;
          case '!':
            if (v !== undefined) return false;
            break;
        }
      }
      return true;
    },
    toString() {
      return text ?? reqs.map(requirementText).join(',');
    },
  };
}

function requirementText(r: LabelRequirement): string {
  switch (r.op) {
    case 'exists':
      return r.key;
    case '!':
      return `!${r.key}`;
    case 'in':
      return r.values.size === 1 ? `${r.key}=${[...r.values][0]}` : `${r.key} in (${[...r.values].sort().join(',')})`;
    case 'notin':
      return r.values.size === 1 ? `${r.key}!=${[...r.values][0]}` : `${r.key} notin (${[...r.values].sort().join(',')})`;
  }
}

/** Everything; the selector of an absent `labelSelector`. */
export const EVERYTHING: LabelSelector = labelSelectorFromRequirements([]);

/** Selects objects whose labels include all of `set` (a `matchLabels` map). */
export function labelSelectorFromSet(set: Record<string, string>): LabelSelector {
  return labelSelectorFromRequirements(Object.entries(set).map(([key, v]) => ({ key, op: 'in', values: new Set([v]) })));
}

type Token =
  | { t: 'id'; v: string }
  | { t: 'op'; v: '=' | '==' | '!=' | '!' | ',' | '(' | ')' }
  | { t: 'end' };

function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (c === '=' || c === '!' || c === ',' || c === '(' || c === ')') {
      if (c === '=' && s[i + 1] === '=') {
        out.push({ t: 'op', v: '==' });
        i += 2;
      } else if (c === '!' && s[i + 1] === '=') {
        out.push({ t: 'op', v: '!=' });
        i += 2;
      } else {
        out.push({ t: 'op', v: c });
        i++;
      }
    } else {
      let j = i;
      while (j < s.length && !' \t\n\r=!,()'.includes(s[j]!)) j++;
      out.push({ t: 'id', v: s.slice(i, j) });
      i = j;
    }
  }
  out.push({ t: 'end' });
  return out;
}

function selectorError(text: string, why: string): Error {
  return badRequest(`unable to parse requirement: found '${text}', ${why}`);
}

/**
 * Parses a label selector string. Throws a 400 BadRequest ApiError whose message names
 * what was wrong.
 */
export function parseLabelSelector(text: string | undefined): LabelSelector {
  if (text === undefined || text.trim() === '') return EVERYTHING;
  const toks = tokenize(text);
  let p = 0;
  const peek = (): Token => toks[p]!;
  const next = (): Token => toks[p++]!;
  const reqs: LabelRequirement[] = [];
  const checkKey = (key: string): void => {
    const errs = qualifiedNameErrors(key);
    if (errs.length > 0) throw badRequest(`invalid label key "${key}": ${errs.join('; ')}`);
  };
  const checkValue = (v: string): void => {
    const errs = labelValueErrors(v);
    if (errs.length > 0) throw badRequest(`invalid label value: "${v}": at key: ${errs.join('; ')}`);
  };
  for (;;) {
    const t = next();
    if (t.t === 'op' && t.v === '!') {
      const k = next();
      if (k.t !== 'id') throw selectorError(describe(k), 'expected: identifier');
      checkKey(k.v);
      reqs.push({ key: k.v, op: '!' });
    } else if (t.t === 'id') {
      checkKey(t.v);
      const op = peek();
      if (op.t === 'end' || (op.t === 'op' && op.v === ',')) {
        reqs.push({ key: t.v, op: 'exists' });
      } else if (op.t === 'op' && (op.v === '=' || op.v === '==' || op.v === '!=')) {
        next();
        const v = peek();
        let value = '';
        if (v.t === 'id') {
          next();
          value = v.v;
        } else if (!(v.t === 'end' || (v.t === 'op' && v.v === ','))) {
          throw selectorError(describe(v), 'expected: identifier');
        }
        checkValue(value);
        reqs.push({ key: t.v, op: op.v === '!=' ? 'notin' : 'in', values: new Set([value]) });
      } else if (op.t === 'id' && (op.v === 'in' || op.v === 'notin')) {
        next();
        const open = next();
        if (!(open.t === 'op' && open.v === '(')) throw selectorError(describe(open), "expected: '('");
        const values = new Set<string>();
        for (;;) {
          const v = next();
          if (v.t === 'op' && v.v === ')') break;
          if (v.t === 'op' && v.v === ',') continue;
          if (v.t !== 'id') throw selectorError(describe(v), "expected: ',' or ')'");
          checkValue(v.v);
          values.add(v.v);
        }
        if (values.size === 0) throw badRequest(`for '${op.v}' operator, values set can't be empty`);
        reqs.push({ key: t.v, op: op.v, values });
      } else {
        throw selectorError(describe(op), "expected: in, notin, =, ==, !=, or end of string");
      }
    } else {
      throw selectorError(describe(t), 'expected: !, or identifier');
    }
    const sep = next();
    if (sep.t === 'end') break;
    if (!(sep.t === 'op' && sep.v === ',')) throw selectorError(describe(sep), "expected: ',' or 'end of string'");
  }
  return labelSelectorFromRequirements(reqs, text);
}

function describe(t: Token): string {
  return t.t === 'end' ? '' : t.v;
}

/** The `metav1.LabelSelector` object form (matchLabels + matchExpressions). */
export interface LabelSelectorObject {
  matchLabels?: Record<string, string> | null;
  matchExpressions?: { key: string; operator: string; values?: string[] | null }[] | null;
}

/** Converts a `metav1.LabelSelector` object; throws 400 on an unknown operator. */
export function labelSelectorFromObject(sel: LabelSelectorObject | undefined | null): LabelSelector {
  if (!sel) return EVERYTHING;
  const reqs: LabelRequirement[] = [];
  for (const [key, v] of Object.entries(sel.matchLabels ?? {})) reqs.push({ key, op: 'in', values: new Set([v]) });
  for (const e of sel.matchExpressions ?? []) {
    const values = new Set(e.values ?? []);
    switch (e.operator) {
      case 'In':
        reqs.push({ key: e.key, op: 'in', values });
        break;
      case 'NotIn':
        reqs.push({ key: e.key, op: 'notin', values });
        break;
      case 'Exists':
        reqs.push({ key: e.key, op: 'exists' });
        break;
      case 'DoesNotExist':
        reqs.push({ key: e.key, op: '!' });
        break;
      default:
        throw badRequest(`"${e.operator}" is not a valid label selector operator`);
    }
  }
  return labelSelectorFromRequirements(reqs);
}

// ---------------------------------------------------------------------------------------

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

export interface FieldSelector {
  readonly requirements: readonly FieldRequirement[];
  readonly empty: boolean;
  matches(obj: KubeObject): boolean;
  toString(): string;
}

/** How to read a selectable field from an object. */
export type FieldGetter = (obj: KubeObject) => string | undefined;

/** Fields every resource can be selected on. */
export const COMMON_FIELDS: Readonly<Record<string, FieldGetter>> = {
  'metadata.name': (o) => o.metadata.name,
  'metadata.namespace': (o) => o.metadata.namespace ?? '',
};

export const EVERY_OBJECT: FieldSelector = {
  requirements: [],
  empty: true,
  matches: () => true,
  toString: () => '',
};

/**
 * Parses `a=b,c!=d` against the fields a resource supports (`fields`). An unknown field
 * is a 400 naming the field, as the API server answers.
 */
export function parseFieldSelector(text: string | undefined, fields: Readonly<Record<string, FieldGetter>>, resourceLabel = 'this resource'): FieldSelector {
  if (text === undefined || text.trim() === '') return EVERY_OBJECT;
  const reqs: FieldRequirement[] = [];
  const getters: FieldGetter[] = [];
  for (const part of splitUnescaped(text)) {
    const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(part);
    if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${part}'`);
    const field = m[1]!;
    const getter = fields[field];
    if (!getter) {
      throw badRequest(`"${field}" is not a known field selector: only "${Object.keys(fields).join('", "')}" are supported for ${resourceLabel}`);
    }
    reqs.push({ field, op: m[2] === '!=' ? '!=' : '=', value: unescapeFieldValue(m[3]!) });
    getters.push(getter);
  }
  return {
    requirements: reqs,
    empty: false,
    matches(obj) {
      for (let i = 0; i < reqs.length; i++) {
        const r = reqs[i]!;
        const v = getters[i]!(obj) ?? '';
        if ((v === r.value) !== (r.op === '=')) return false;
      }
      return true;
    },
    toString: () => text,
  };
}

/** Splits on commas not preceded by a backslash (field values may escape `,` and `=`). */
function splitUnescaped(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) {
      cur += c + s[i + 1]!;
      i++;
    } else if (c === ',') {
      out.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  out.push(cur);
  return out;
}

function unescapeFieldValue(v: string): string {
  return v.replace(/\\([\\,=])/g, '$1');
}
