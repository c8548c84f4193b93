/**
 * `meta.k8s.io` Tables for `kubectl get`: a Name column (unless the kind leads with
 * another), the kind's printer columns, one row per object. Dates become ages ("5m")
 * on the server, as the API server does for CRD printer columns.
 */
import { humanDuration } from '../resources/core.ts';
import type { RegisteredType } from '../resources/registry.ts';
import type { PrinterColumn } from '../resources/types.ts';
import type { KubeObject } from '../store/types.ts';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface TableColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

const NAME_COLUMN: TableColumnDefinition = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
  priority: 0,
};

type Getter = (o: unknown) => unknown;

/** Compiles `.a.b[0].c` (the JSONPath subset CRD printer columns use). */
export function compileJsonPath(path: string): Getter {
  const segs: (string | number)[] = [];
  const re = /\.([^.[\]]+)|\[(\d+)\]|\['([^']+)'\]/g;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(path)) !== null) {
    if (m.index !== consumed) break;
    consumed = re.lastIndex;
    segs.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : m[3]!));
  }
  if (consumed !== path.length) throw new Error(`unsupported JSONPath ${path}`);
  return (o) => {
    let cur: unknown = o;
    for (const s of segs) {
      if (cur === null || typeof cur !== 'object') return undefined;
      cur = (cur as Record<string | number, unknown>)[s];
    }
    return cur;
  };
}

interface CompiledColumn {
  def: TableColumnDefinition;
  cell: (o: KubeObject, now: number) => unknown;
}

function compileColumn(c: PrinterColumn): CompiledColumn {
  const def: TableColumnDefinition = { name: c.name, type: c.type, format: '', description: c.description ?? '', priority: c.priority ?? 0 };
  const get = c.jsonPath ? compileJsonPath(c.jsonPath) : undefined;
  const raw = c.value ?? ((o: KubeObject) => get?.(o));
  const cell = (o: KubeObject, now: number): unknown => {
    const v = raw(o, now);
    if (v === undefined || v === null) return null;
    if (c.type === 'date') {
      const t = typeof v === 'string' ? Date.parse(v) : NaN;
      return Number.isNaN(t) ? null : humanDuration(now - t);
    }
    if (c.type === 'string' && typeof v !== 'string') return typeof v === 'object' ? JSON.stringify(v) : String(v);
    return v;
  };
  return { def, cell };
}

/** Builds Table JSON for one kind; compiled once per type and reused. */
export class TableConverter {
  readonly columns: TableColumnDefinition[];
  readonly #cells: ((o: KubeObject, now: number) => unknown)[];

  constructor(type: RegisteredType) {
    const compiled = (type.printerColumns.length > 0 ? type.printerColumns : [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' } as PrinterColumn]).map(compileColumn);
    this.columns = [...(type.noNameColumn ? [] : [NAME_COLUMN]), ...compiled.map((c) => c.def)];
    this.#cells = [...(type.noNameColumn ? [] : [(o: KubeObject) => o.metadata.name ?? '']), ...compiled.map((c) => c.cell)];
  }

  /** One row as JSON text. `objectJson` is the object's JSON for includeObject=Object. */
  rowJson(o: KubeObject, now: number, include: IncludeObject, version: 'v1' | 'v1beta1', objectJson?: () => string): string {
    const cells = this.#cells.map((f) => f(o, now));
    let object = '';
    if (include === 'Metadata') {
      object = `,"object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/${version}","metadata":${JSON.stringify(o.metadata)}}`;
    } else if (include === 'Object') {
      object = `,"object":${objectJson ? objectJson() : JSON.stringify(o)}`;
    }
    return `{"cells":${JSON.stringify(cells)}${object}}`;
  }

  /** A whole Table. `withColumns` false leaves columnDefinitions out (watch events after the first). */
  tableJson(rows: string[], resourceVersion: string, version: 'v1' | 'v1beta1', withColumns = true, extraMeta = ''): string {
    const cols = withColumns ? JSON.stringify(this.columns) : 'null';
    return `{"kind":"Table","apiVersion":"meta.k8s.io/${version}","metadata":{"resourceVersion":${JSON.stringify(resourceVersion)}${extraMeta}},"columnDefinitions":${cols},"rows":[${rows.join(',')}]}`;
  }
}
