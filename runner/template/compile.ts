// Compiles Jinja source with nunjucks' parser and code generator, adjusted to Jinja semantics:
// Python truthiness in if/and/or/not, deep `==`, list `+`, slices (`x[1:]`), named undefined
// lookups, iteration over dicts, and a "native" mode that returns the value of a lone `{{ expr }}`.

import nunjucks from 'nunjucks';

/* eslint-disable @typescript-eslint/no-explicit-any */
type AnyNode = any;

interface NunjucksInternals {
  parser: { Parser: any };
  lexer: any;
  nodes: any;
  compiler: { Compiler: any };
  runtime: any;
}

export const nj = nunjucks as unknown as NunjucksInternals;
const { nodes, lexer } = nj;

const Slice = nodes.Node.extend('Slice', {
  fields: ['start', 'stop', 'step'],
  init(this: any, lineno: number, colno: number, start?: AnyNode, stop?: AnyNode, step?: AnyNode) {
    this.parent(lineno, colno,
      start || new nodes.Literal(lineno, colno, null),
      stop || new nodes.Literal(lineno, colno, null),
      step || new nodes.Literal(lineno, colno, 1));
  },
});
const Truthy = nodes.Node.extend('MeshTruthy', { fields: ['target'] });
const Iterate = nodes.Node.extend('MeshIterate', { fields: ['target', 'pairs'] });
const NativeResult = nodes.Node.extend('MeshNativeResult', { fields: ['target'] });

// Jinja's lexer balances braces, so `{{ x | combine({'a': {'b': 1}}) }}` works; nunjucks' would end
// the expression at the first `}}`. Inside an open `{`, read `}}` as a single closing brace.
const Tokenizer = lexer.lex('').constructor;
class JinjaTokenizer extends Tokenizer {
  braceDepth = 0;
  /**
   * Ansible doubles every backslash of a string literal inside `{{ }}` of a value it templates
   * (Templar's _escape_backslashes), so there `'\d+\.'` reaches the filter as written. Elsewhere (bare
   * conditions, template files) Jinja reads string literals as Python's unicode-escape does.
   */
  rawStrings = false;
  private inVariable = false;

  constructor(...args: any[]) {
    super(...args);
  }

  _parseString(delimiter: string): string {
    this.forward();
    let str = '';
    while (!this.isFinished() && this.current() !== delimiter) {
      const cur = this.current();
      if (cur !== '\\') {
        str += cur;
        this.forward();
        continue;
      }
      this.forward();
      if (this.isFinished()) break;
      const next = this.current();
      if (this.rawStrings && this.inVariable) {
        str += `\\${next}`;
        this.forward();
        continue;
      }
      const simple: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', '\n': '' };
      const rest = this.str.slice(this.index);
      const hex = /^(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8}))/.exec(rest);
      const octal = /^[0-7]{1,3}/.exec(rest);
      if (next in simple) {
        str += simple[next];
        this.forward();
      } else if (hex) {
        str += String.fromCodePoint(parseInt(hex[1] ?? hex[2] ?? hex[3], 16));
        for (let i = 0; i < hex[0].length; i++) this.forward();
      } else if (octal) {
        str += String.fromCodePoint(parseInt(octal[0], 8));
        for (let i = 0; i < octal[0].length; i++) this.forward();
      } else {
        // Python keeps an unknown escape as written.
        str += `\\${next}`;
        this.forward();
      }
    }
    this.forward();
    return str;
  }

  nextToken(): AnyNode {
    if (this.in_code && this.braceDepth > 0 && this.str.startsWith('}}', this.index)) {
      const tok = { type: lexer.TOKEN_RIGHT_CURLY, value: '}', lineno: this.lineno, colno: this.colno };
      this.forward();
      this.braceDepth--;
      return tok;
    }
    const tok = super.nextToken();
    if (tok?.type === lexer.TOKEN_VARIABLE_START) this.inVariable = true;
    else if (tok?.type === lexer.TOKEN_VARIABLE_END) this.inVariable = false;
    if (tok?.type === lexer.TOKEN_LEFT_CURLY) this.braceDepth++;
    else if (tok?.type === lexer.TOKEN_RIGHT_CURLY) this.braceDepth = Math.max(0, this.braceDepth - 1);
    else if (tok?.type === lexer.TOKEN_VARIABLE_END || tok?.type === lexer.TOKEN_BLOCK_END) this.braceDepth = 0;
    return tok;
  }
}

// Ansible renders with trim_blocks: the newline after a block tag is dropped.
const LEXER_OPTIONS = { trimBlocks: true };

const END_OF_EXPRESSION = { type: 'end-of-expression', value: '' };
const NOT_A_TEST_ARGUMENT = new Set(['and', 'or', 'not', 'if', 'else', 'in', 'is']);

class JinjaParser extends nj.parser.Parser {
  /** Parsing a bare expression: the end of input ends the expression rather than being an error. */
  expressionMode = false;

  peekToken(): AnyNode {
    const tok = super.peekToken();
    return tok ?? (this.expressionMode ? END_OF_EXPRESSION : tok);
  }

  // `x is eq 3`, `x is divisibleby 3`: Jinja allows one argument without parentheses
  parseIs(): AnyNode {
    let node = this.parseCompare();
    if (this.skipSymbol('is')) {
      const not = this.skipSymbol('not');
      let test = this.parsePrimary();
      const next = this.peekToken();
      const startsArgument = next && [lexer.TOKEN_INT, lexer.TOKEN_FLOAT, lexer.TOKEN_STRING, lexer.TOKEN_BOOLEAN, lexer.TOKEN_NONE].includes(next.type)
        || (next?.type === lexer.TOKEN_SYMBOL && !NOT_A_TEST_ARGUMENT.has(next.value));
      if (test instanceof nodes.Symbol && startsArgument) {
        const argument = this.parsePrimary();
        test = new nodes.FunCall(test.lineno, test.colno, test, new nodes.NodeList(argument.lineno, argument.colno, [argument]));
      }
      node = new nodes.Is(node.lineno, node.colno, node, test);
      if (not) node = new nodes.Not(node.lineno, node.colno, node);
    }
    return node;
  }

  constructor(...args: any[]) {
    super(...args);
  }

  // A literal written with a point (`5.0`) is a Python float even when whole.
  parsePrimary(noPostfix?: boolean): AnyNode {
    if (this.peekToken()?.type !== lexer.TOKEN_FLOAT) return super.parsePrimary(noPostfix);
    let node = super.parsePrimary(true);
    if (node instanceof nodes.Literal) node.pyFloat = true;
    if (!noPostfix) node = this.parsePostfix(node);
    return node;
  }

  // As nunjucks' postfix parser, plus Jinja's `item.0` / `x.1.2`: a number after the dot is an index.
  parsePostfix(node: AnyNode): AnyNode {
    let tok = this.peekToken();
    while (tok) {
      if (tok.type === lexer.TOKEN_LEFT_PAREN) {
        node = new nodes.FunCall(tok.lineno, tok.colno, node, this.parseSignature());
      } else if (tok.type === lexer.TOKEN_LEFT_BRACKET) {
        const lookup = this.parseAggregate();
        if (lookup.children.length > 1) this.fail('invalid index');
        node = new nodes.LookupVal(tok.lineno, tok.colno, node, lookup.children[0]);
      } else if (tok.type === lexer.TOKEN_OPERATOR && tok.value === '.') {
        this.nextToken();
        const val = this.nextToken();
        if (val.type === lexer.TOKEN_SYMBOL) {
          node = new nodes.LookupVal(tok.lineno, tok.colno, node, new nodes.Literal(val.lineno, val.colno, val.value));
        } else if (val.type === lexer.TOKEN_INT || (val.type === lexer.TOKEN_FLOAT && /^\d+\.\d+$/.test(val.value))) {
          // `x.1.2` reaches here as the float 1.2: two indexes.
          for (const part of String(val.value).split('.')) node = new nodes.LookupVal(tok.lineno, tok.colno, node, new nodes.Literal(val.lineno, val.colno, Number(part)));
        } else {
          this.fail(`expected name as lookup value, got ${val.value}`, val.lineno, val.colno);
        }
      } else {
        break;
      }
      tok = this.peekToken();
    }
    return node;
  }

  // Jinja slices: `[start:stop:step]` inside a subscript (ported from nunjucks' jinja-compat, minus its global patching).
  parseAggregate(): AnyNode {
    const state = { index: this.tokens.index, lineno: this.tokens.lineno, colno: this.tokens.colno };
    state.colno--;
    state.index--;
    try {
      return super.parseAggregate();
    } catch (error) {
      const errorState = { index: this.tokens.index, lineno: this.tokens.lineno, colno: this.tokens.colno };
      const rethrow = () => {
        Object.assign(this.tokens, errorState);
        return error;
      };
      Object.assign(this.tokens, state);
      this.peeked = false;
      const tok = this.peekToken();
      if (tok.type !== lexer.TOKEN_LEFT_BRACKET) throw rethrow();
      this.nextToken();
      const node = new Slice(tok.lineno, tok.colno);
      let isSlice = false;
      for (let i = 0; i <= node.fields.length; i++) {
        if (this.skip(lexer.TOKEN_RIGHT_BRACKET)) break;
        if (i === node.fields.length) {
          if (isSlice) this.fail('too many slice components', tok.lineno, tok.colno);
          break;
        }
        if (this.skip(lexer.TOKEN_COLON)) {
          isSlice = true;
        } else {
          node[node.fields[i]] = this.parseExpression();
          isSlice = this.skip(lexer.TOKEN_COLON) || isSlice;
        }
      }
      if (!isSlice) throw rethrow();
      return new nodes.Array(tok.lineno, tok.colno, [node]);
    }
  }
}

/** A readable name for an expression, used in "is undefined" messages: `cluster.name`, `hosts[0]`. */
export function describe(node: AnyNode): string {
  switch (node?.typename) {
    case 'Symbol':
      return node.value;
    case 'LookupVal': {
      const target = describe(node.target);
      const key = node.val;
      if (key.typename === 'Literal' && typeof key.value === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key.value)) return `${target}.${key.value}`;
      if (key.typename === 'Literal') return `${target}[${JSON.stringify(key.value)}]`;
      return `${target}[${describe(key)}]`;
    }
    case 'FunCall':
      return `${describe(node.name)}(...)`;
    case 'Literal':
      return JSON.stringify(node.value);
    default:
      return '(expression)';
  }
}

/** The name of the test in `x is name` / `x is name(args)`, dotted names included (`ansible.builtin.version`). */
export function testName(isNode: AnyNode): string {
  const test = isNode.right instanceof nodes.FunCall ? isNode.right.name : isNode.right;
  return test instanceof nodes.Symbol ? String(test.value) : describe(test);
}

class JinjaCompiler extends nj.compiler.Compiler {
  constructor(...args: any[]) {
    super(...args);
  }

  assertType(node: AnyNode, ...types: any[]): void {
    if (node instanceof Slice || node instanceof Truthy || node instanceof Iterate) return;
    super.assertType(node, ...types);
  }

  private truthy(node: AnyNode): AnyNode {
    return new Truthy(node.lineno, node.colno, node);
  }

  compileMeshTruthy(node: AnyNode, frame: AnyNode): void {
    this._emit('runtime.truthy(');
    this.compile(node.target, frame);
    this._emit(')');
  }

  compileMeshIterate(node: AnyNode, frame: AnyNode): void {
    this._emit(`runtime.iterate(`);
    this.compile(node.target, frame);
    this._emit(`, ${node.pairs ? 'true' : 'false'})`);
  }

  compileMeshNativeResult(node: AnyNode, frame: AnyNode): void {
    this._emit('context.native = runtime.nativeValue(');
    this._compileExpression(node.target, frame);
    this._emitLine(');');
  }

  compileSlice(node: AnyNode, frame: AnyNode): void {
    this._emit('(');
    this._compileExpression(node.start, frame);
    this._emit('),(');
    this._compileExpression(node.stop, frame);
    this._emit('),(');
    this._compileExpression(node.step, frame);
    this._emit(')');
  }

  compileLookupVal(node: AnyNode, frame: AnyNode): void {
    if (node.val instanceof Slice) {
      this._emit('runtime.sliceLookup((');
      this._compileExpression(node.target, frame);
      this._emit('),');
      this.compileSlice(node.val, frame);
      this._emit(')');
      return;
    }
    this._emit('runtime.memberLookup((');
    this._compileExpression(node.target, frame);
    this._emit('),');
    this._compileExpression(node.val, frame);
    this._emit(`,${JSON.stringify(describe(node.target))})`);
  }

  compileIf(node: AnyNode, frame: AnyNode, async?: boolean): void {
    node.cond = this.truthy(node.cond);
    super.compileIf(node, frame, async);
  }

  compileInlineIf(node: AnyNode, frame: AnyNode): void {
    node.cond = this.truthy(node.cond);
    super.compileInlineIf(node, frame);
  }

  compileNot(node: AnyNode, frame: AnyNode): void {
    this._emit('!runtime.truthy(');
    this.compile(node.target, frame);
    this._emit(')');
  }

  // `a or b` is a if a is truthy else b, evaluated lazily, as in Python.
  private lazyBinary(helper: string, node: AnyNode, frame: AnyNode): void {
    this._emit(`runtime.${helper}(`);
    this.compile(node.left, frame);
    this._emit(', function() { return ');
    this.compile(node.right, frame);
    this._emit('; })');
  }

  compileOr(node: AnyNode, frame: AnyNode): void {
    this.lazyBinary('or', node, frame);
  }

  compileAnd(node: AnyNode, frame: AnyNode): void {
    this.lazyBinary('and', node, frame);
  }

  private binary(helper: string, node: AnyNode, frame: AnyNode): void {
    this._emit(`runtime.${helper}(`);
    this.compile(node.left, frame);
    this._emit(', ');
    this.compile(node.right, frame);
    this._emit(')');
  }

  /** `(a, b)` is a tuple (JavaScript's comma operator would yield b); `(a)` only groups. */
  compileGroup(node: AnyNode, frame: AnyNode): void {
    if (node.children.length <= 1) {
      super.compileGroup(node, frame);
      return;
    }
    this._emit('runtime.tuple(');
    this._compileAggregate(node, frame, '[', ']');
    this._emit(')');
  }

  compileAdd(node: AnyNode, frame: AnyNode): void {
    this.binary('add', node, frame);
  }

  compileMul(node: AnyNode, frame: AnyNode): void {
    this.binary('mul', node, frame);
  }

  // Python's arithmetic: `/` is always a float, `//` and `%` floor, a float operand makes a float.
  compileSub(node: AnyNode, frame: AnyNode): void {
    this.binary('sub', node, frame);
  }

  compileDiv(node: AnyNode, frame: AnyNode): void {
    this.binary('div', node, frame);
  }

  compileFloorDiv(node: AnyNode, frame: AnyNode): void {
    this.binary('floordiv', node, frame);
  }

  compileMod(node: AnyNode, frame: AnyNode): void {
    this.binary('mod', node, frame);
  }

  compilePow(node: AnyNode, frame: AnyNode): void {
    this.binary('pow', node, frame);
  }

  compileNeg(node: AnyNode, frame: AnyNode): void {
    this._emit('runtime.neg(');
    this.compile(node.target, frame);
    this._emit(')');
  }

  compileLiteral(node: AnyNode, frame: AnyNode): void {
    if (node.pyFloat && typeof node.value === 'number' && Number.isInteger(node.value)) {
      this._emit(`runtime.pyFloat(${JSON.stringify(node.value)})`);
      return;
    }
    super.compileLiteral(node, frame);
  }

  compileConcat(node: AnyNode, frame: AnyNode): void {
    this.binary('concat', node, frame);
  }

  compileCompare(node: AnyNode, frame: AnyNode): void {
    // a < b < c is (a < b) and (b < c), as in Python
    let left = node.expr;
    const parts: Array<() => void> = [];
    for (const op of node.ops) {
      const l = left;
      parts.push(() => {
        this._emit(`runtime.compare(${JSON.stringify(op.type)}, `);
        this.compile(l, frame);
        this._emit(', ');
        this.compile(op.expr, frame);
        this._emit(')');
      });
      left = op.expr;
    }
    this._emit('(');
    parts.forEach((emit, i) => {
      if (i > 0) this._emit(' && ');
      emit();
    });
    this._emit(')');
  }

  // nunjucks joins several test arguments without commas; emit them as a proper argument list
  compileIs(node: AnyNode, frame: AnyNode): void {
    const name = testName(node);
    this._emit(`env.getTest(${JSON.stringify(name)}).call(context, `);
    this.compile(node.left, frame);
    if (node.right.args) this._compileAggregate(node.right.args, frame, ', ', '');
    this._emit(') === true');
  }

  compileFor(node: AnyNode, frame: AnyNode): void {
    node.arr = new Iterate(node.arr.lineno, node.arr.colno, node.arr, node.name instanceof nodes.Array);
    super.compileFor(node, frame);
  }
}

export interface Compiled {
  root: (env: unknown, context: unknown, frame: unknown, runtime: unknown, cb: (err: unknown, out?: string) => void) => void;
  /** True when the template is one `{{ expression }}` whose value is returned as is. */
  native: boolean;
  /** The parsed template, for callers that inspect it (which variables it reads, whether it looks anything up). */
  ast: AnyNode;
}

export function parse(source: string, rawStrings = false): AnyNode {
  const tokens = new JinjaTokenizer(source, LEXER_OPTIONS);
  tokens.rawStrings = rawStrings;
  const parser = new JinjaParser(tokens);
  return parser.parseAsRoot();
}

/** The lone expression of a template that is exactly one `{{ expr }}` (whitespace around allowed). */
function loneExpression(root: AnyNode): AnyNode | undefined {
  let expression: AnyNode | undefined;
  for (const child of root.children) {
    if (!(child instanceof nodes.Output)) return undefined;
    for (const part of child.children) {
      if (part instanceof nodes.TemplateData) {
        if (String(part.value).trim() !== '') return undefined;
      } else if (expression) {
        return undefined;
      } else {
        expression = part;
      }
    }
  }
  return expression;
}

/** Parse a bare expression (`x == 1 and y is defined`), as `when:` and friends hold them. */
export function parseExpression(source: string): AnyNode {
  const tokens = new JinjaTokenizer(source, LEXER_OPTIONS);
  tokens.in_code = true;
  const parser = new JinjaParser(tokens);
  parser.expressionMode = true;
  const expression = parser.parseExpression();
  const extra = parser.nextToken();
  if (extra) parser.fail(`unexpected '${extra.value}' after the end of the expression`, extra.lineno, extra.colno);
  return expression;
}

function build(root: AnyNode): Compiled['root'] {
  const compiler = new JinjaCompiler('template', false);
  compiler.compile(root);
  const code: string = compiler.getCode();
  // eslint-disable-next-line no-new-func
  return (new Function(code)() as { root: Compiled['root'] }).root;
}

/** Compile a bare expression to a function that yields its native value. */
export function compileExpression(source: string): Compiled {
  const expression = parseExpression(source);
  const root = new nodes.Root(0, 0, [new NativeResult(expression.lineno, expression.colno, expression)]);
  return { root: build(root), native: true, ast: root };
}

/** Compile a template. With `native`, a lone `{{ expr }}` compiles to a function that yields its value. */
export function compile(source: string, native: boolean): Compiled {
  // A value Ansible templates (native here) has its backslashes kept in `{{ }}` string literals.
  const root = parse(source, native);
  let isNative = false;
  if (native) {
    const expression = loneExpression(root);
    if (expression) {
      root.children = [new NativeResult(expression.lineno, expression.colno, expression)];
      isNative = true;
    }
  }
  return { root: build(root), native: isNative, ast: root };
}
