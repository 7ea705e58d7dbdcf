/**
 * Every code example a user reads must compile against the real API:
 *
 * - every ```ts block in README.md and docs/*.md, as written: they are whole programs a user copies;
 * - every ```ts block of a TSDoc `@example` in src/, as a fragment: the names it uses without declaring them
 *   (`locks`, `redis`, `lease`, ... and every export of the package) come from a prelude of declarations.
 *
 * Each is written to test/.docs-snippets/ (gitignored) and type-checked with the project's compiler options, where
 * `leasehold` and `leasehold/postgres` resolve to the sources through the tsconfig `paths`, as users' code resolves
 * them to the package. And every export of `leasehold` and `leasehold/postgres` (classes, functions, interfaces, type
 * aliases, constants) carries an `@example` with a ```ts block, so none can be added without one.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const docsDir = join(root, 'docs');
const srcDir = join(root, 'src');
const snippetDir = join(root, 'test', '.docs-snippets');

interface Snippet {
  /** The file the block is in, relative to the repository. */
  readonly doc: string;
  /** The line of that file the block's first line of code is on (1-based). */
  readonly line: number;
  readonly code: string;
  /** A TSDoc example: a fragment compiled after the prelude. */
  readonly fragment: boolean;
}

/** The ```ts (or ```typescript) blocks of a markdown file. */
function tsBlocks(doc: string, markdown: string): Snippet[] {
  const blocks: Snippet[] = [];
  for (const match of markdown.matchAll(/^```(?:ts|typescript)[ \t]*\n([\s\S]*?)^```[ \t]*$/gm)) {
    const line = markdown.slice(0, match.index).split('\n').length + 1;
    blocks.push({ doc, line, code: match[1] ?? '', fragment: false });
  }
  return blocks;
}

function markdownSnippets(): Snippet[] {
  const docs = readdirSync(docsDir)
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => join(docsDir, name));
  return [join(root, 'README.md'), ...docs].flatMap((file) => tsBlocks(relative(root, file), readFileSync(file, 'utf8')));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [join(dir, entry.name)] : []))
    .sort();
}

/** The ```ts blocks of every `@example` in the TSDoc comments of src/. */
function exampleSnippets(): Snippet[] {
  const snippets: Snippet[] = [];
  for (const file of sourceFiles(srcDir)) {
    const text = readFileSync(file, 'utf8');
    for (const comment of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
      const lines = comment[0].split('\n').map((l) => l.replace(/^\s*\*(?: |$)/, ''));
      const first = text.slice(0, comment.index).split('\n').length;
      let inExample = false;
      for (let i = 0; i < lines.length; i++) {
        if (/^@example\b/.test(lines[i]!)) inExample = true;
        else if (/^@\w/.test(lines[i]!)) inExample = false;
        if (!inExample || !/^```(?:ts|typescript)\s*$/.test(lines[i]!)) continue;
        const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
        snippets.push({ doc: relative(root, file), line: first + i + 1, code: `${lines.slice(i + 1, end).join('\n')}\n`, fragment: true });
        i = end;
      }
    }
  }
  return snippets;
}

/** Names a snippet declares at its top level (imports included): the prelude must not declare them again. */
function declaredNames(code: string): Set<string> {
  const names = new Set<string>();
  const bind = (name: ts.BindingName): void => {
    if (ts.isIdentifier(name)) names.add(name.text);
    else for (const element of name.elements) if (!ts.isOmittedExpression(element)) bind(element.name);
  };
  for (const statement of ts.createSourceFile('snippet.ts', code, ts.ScriptTarget.Latest).statements) {
    if (ts.isImportDeclaration(statement) && statement.importClause) {
      const clause = statement.importClause;
      if (clause.name) names.add(clause.name.text);
      const bindings = clause.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) names.add(bindings.name.text);
      if (bindings && ts.isNamedImports(bindings)) for (const element of bindings.elements) names.add(element.name.text);
    } else if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) bind(declaration.name);
    } else if (
      (ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement) || ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) &&
      statement.name
    ) {
      names.add(statement.name.text);
    }
  }
  return names;
}

/** What TSDoc examples may use without declaring it: the objects a user of the API has at hand. */
const PRELUDE_DECLARATIONS: readonly (readonly [name: string, line: string])[] = [
  ['redis', 'declare const redis: Redis;'],
  ['backend', 'declare const backend: LockBackend;'],
  ['locks', 'declare const locks: LockManager;'],
  ['lease', 'declare const lease: Lease;'],
  ['nodes', 'declare const nodes: NodeStore;'],
  ['registry', 'declare const registry: ConductorRegistry;'],
  ['conductor', 'declare const conductor: Conductor;'],
  ['task', 'declare const task: NodeTask;'],
  ['recovery', 'declare const recovery: RecoveryManager;'],
  ['response', "declare const response: import('node:http').ServerResponse;"],
  ['doWork', 'declare function doWork(options: { signal: AbortSignal }): Promise<void>;'],
  ['deploy', 'declare function deploy(task: NodeTask): Promise<void>;'],
  ['wipeDisks', 'declare function wipeDisks(node: Node, options: { signal: AbortSignal }): Promise<void>;'],
];

/** The prelude of a fragment: imports of every package export and the declarations above it does not declare itself. */
function prelude(code: string, exports: { readonly main: readonly string[]; readonly postgres: readonly string[] }): string {
  const own = declaredNames(code);
  const pick = (names: readonly string[]): string => names.filter((n) => !own.has(n.replace(/^type /, ''))).join(', ');
  return [
    own.has('Redis') ? '' : "import { Redis } from 'ioredis';",
    `import { ${pick(exports.main)} } from 'leasehold';`,
    `import { ${pick(exports.postgres)} } from 'leasehold/postgres';`,
    ...PRELUDE_DECLARATIONS.filter(([name]) => !own.has(name)).map(([, line]) => line),
  ].join('\n');
}

function compilerOptions(): ts.CompilerOptions {
  const configPath = join(root, 'tsconfig.json');
  const read = ts.readConfigFile(configPath, (path) => ts.sys.readFile(path));
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, root, undefined, configPath);
  return { ...parsed.options, noEmit: true };
}

/** What `leasehold` and `leasehold/postgres` export, as import specifiers: `Name`, or `type Name` for types. */
function packageExports(): { main: string[]; postgres: string[] } {
  const entries = ['index.ts', 'postgres.ts'].map((f) => join(srcDir, f));
  const program = ts.createProgram({ rootNames: entries, options: compilerOptions() });
  const checker = program.getTypeChecker();
  const [main, postgres] = entries.map((file) => {
    const module = checker.getSymbolAtLocation(program.getSourceFile(file)!)!;
    return checker
      .getExportsOfModule(module)
      .map((s) => (checker.getAliasedSymbol(s).flags & ts.SymbolFlags.Value ? s.name : `type ${s.name}`))
      .sort();
  });
  return { main: main!, postgres: postgres! };
}

afterAll(() => {
  rmSync(snippetDir, { recursive: true, force: true });
});

describe('docs', () => {
  it('finds the TypeScript blocks of the README, the docs and the TSDoc examples', () => {
    const docs = markdownSnippets().map((s) => s.doc);
    expect(docs).toContain('README.md');
    expect(docs).toContain('docs/migrating-from-a-reservation-column.md');
    expect(exampleSnippets().length).toBeGreaterThan(50);
  });

  it('compiles every ```ts block in README.md, docs/*.md and the @example blocks of src/', () => {
    rmSync(snippetDir, { recursive: true, force: true });
    mkdirSync(snippetDir, { recursive: true });
    const exports = packageExports();
    const byFile = new Map<string, { snippet: Snippet; offset: number }>();
    for (const [i, snippet] of [...markdownSnippets(), ...exampleSnippets()].entries()) {
      const name = `${snippet.doc.replace(/\.(md|ts)$/, '').replace(/[^A-Za-z0-9]+/g, '-')}-${i}.ts`;
      const file = join(snippetDir, name);
      const head = snippet.fragment ? `${prelude(snippet.code, exports)}\n` : '';
      // `export {}` keeps a block without imports a module (top-level await, no global names); it adds no line above.
      writeFileSync(file, `${head}${snippet.code}\nexport {};\n`);
      byFile.set(ts.sys.resolvePath(file), { snippet, offset: head.split('\n').length - 1 });
    }

    // Fragments import every export and use few of them: unused names are not mistakes there.
    const options = { ...compilerOptions(), noUnusedLocals: false, noUnusedParameters: false };
    const program = ts.createProgram({ rootNames: [...byFile.keys()], options });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file !== undefined && byFile.has(ts.sys.resolvePath(d.file.fileName)))
      .map((d) => {
        const file = d.file as ts.SourceFile;
        const { snippet, offset } = byFile.get(ts.sys.resolvePath(file.fileName))!;
        const { line, character } = file.getLineAndCharacterOfPosition(d.start ?? 0);
        return `${snippet.doc}:${snippet.line + line - offset}:${character + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      });
    expect(problems).toEqual([]);
  });

  it('gives every export of leasehold and leasehold/postgres an @example with a ```ts block', () => {
    const entries = ['index.ts', 'postgres.ts'].map((f) => join(srcDir, f));
    const program = ts.createProgram({ rootNames: entries, options: compilerOptions() });
    const checker = program.getTypeChecker();
    const missing: string[] = [];
    let checked = 0;
    for (const entry of entries) {
      for (const exported of checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(entry)!)!)) {
        checked++;
        const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
        const declarations = symbol.declarations ?? [];
        // A constant's comment is on its statement (`export const X = ...`), which getJSDocTags reaches from the declaration.
        const examples = declarations.flatMap((d) => ts.getJSDocTags(d)).filter((tag) => tag.tagName.text === 'example');
        // Only ```ts blocks are compiled above: an inline `@example` (as options' properties use) does not count.
        const compiled = examples.some((tag) => /^```(?:ts|typescript)\s*$/m.test(ts.getTextOfJSDocComment(tag.comment) ?? ''));
        if (!compiled) missing.push(`${relative(root, entry)}: ${exported.name}`);
      }
    }
    expect(checked).toBeGreaterThan(140); // both entry points were read
    expect(missing.sort()).toEqual([]);
  });
});
