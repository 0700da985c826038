// Variable scopes with Ansible's precedence, templated lazily: a variable is rendered when a template
// first reads it, so defaults may refer to inventory values and vice versa, as in Ansible.
import { TemplateError } from '../errors.js';
import { carryFloat, floatsMarked } from '../template/float.js';
import type { RenderOptions, Templater } from '../template/types.js';

type Dict = Record<string, unknown>;

export interface VarLayer {
  values: Dict;
  /** Whether values are templates to render (inventory, play vars) or data to keep as is (registered results). */
  render: boolean;
}

const templated = (v: unknown): boolean => {
  if (typeof v === 'string') return v.includes('{{') || v.includes('{%');
  if (Array.isArray(v)) return v.some(templated);
  if (v && typeof v === 'object') return Object.values(v).some(templated);
  return false;
};

/**
 * Merges layers (lowest precedence first) into one object whose properties render on first read.
 * Rendering sees the merged object itself, so `a: "{{ b }}"` resolves `b` by the same precedence.
 */
export function layeredVars(layers: VarLayer[], templater: Templater, options: RenderOptions): Dict {
  const winner = new Map<string, VarLayer>();
  for (const layer of layers) for (const k of Object.keys(layer.values)) winner.set(k, layer);
  const out: Dict = {};
  const rendering = new Set<string>();
  for (const [key, layer] of winner) {
    const raw = layer.values[key];
    if (!layer.render || !templated(raw)) {
      out[key] = raw;
      if (floatsMarked && typeof raw === 'number') carryFloat(out, key, layer.values);
      continue;
    }
    let done = false;
    let value: unknown;
    Object.defineProperty(out, key, {
      enumerable: true,
      configurable: true,
      get() {
        if (done) return value;
        if (rendering.has(key)) throw new TemplateError(String(raw), `recursive loop detected in template for variable '${key}'`);
        rendering.add(key);
        try {
          value = templater.render(raw, out, options);
          done = true;
        } finally {
          rendering.delete(key);
        }
        return value;
      },
      set(v) {
        value = v;
        done = true;
      },
    });
  }
  return out;
}
