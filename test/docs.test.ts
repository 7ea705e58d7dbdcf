/**
 * Every ```ts block in docs/*.md must compile: each is written to test/.docs-snippets/ (gitignored) and type-checked
 * with the project's compiler options, where `leasehold` and `leasehold/postgres` resolve to the sources through the
 * tsconfig `paths`, as users' code resolves them to the package.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const docsDir = join(root, 'docs');
const snippetDir = join(root, 'test', '.docs-snippets');

interface Snippet {
  /** The markdown file, relative to the repository. */
  readonly doc: string;
  /** The line of the markdown file the block's first line of code is on (1-based). */
  readonly line: number;
  readonly code: string;
}

/** The ```ts (or ```typescript) blocks of a markdown file. */
function tsBlocks(doc: string, markdown: string): Snippet[] {
  const blocks: Snippet[] = [];
  for (const match of markdown.matchAll(/^```(?:ts|typescript)[ \t]*\n([\s\S]*?)^```[ \t]*$/gm)) {
    const line = markdown.slice(0, match.index).split('\n').length + 1;
    blocks.push({ doc, line, code: match[1] ?? '' });
  }
  return blocks;
}

function docSnippets(): Snippet[] {
  return readdirSync(docsDir)
    .filter((name) => name.endsWith('.md'))
    .sort()
    .flatMap((name) => tsBlocks(relative(root, join(docsDir, name)), readFileSync(join(docsDir, name), 'utf8')));
}

function compilerOptions(): ts.CompilerOptions {
  const configPath = join(root, 'tsconfig.json');
  const read = ts.readConfigFile(configPath, (path) => ts.sys.readFile(path));
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, root, undefined, configPath);
  return { ...parsed.options, noEmit: true };
}

afterAll(() => {
  rmSync(snippetDir, { recursive: true, force: true });
});

describe('docs', () => {
  it('finds the TypeScript blocks of the docs', () => {
    const snippets = docSnippets();
    expect(snippets.length).toBeGreaterThan(0);
    expect(snippets.map((s) => s.doc)).toContain('docs/migrating-from-a-reservation-column.md');
  });

  it('compiles every ```ts block in docs/*.md', () => {
    rmSync(snippetDir, { recursive: true, force: true });
    mkdirSync(snippetDir, { recursive: true });
    const byFile = new Map<string, Snippet>();
    for (const [i, snippet] of docSnippets().entries()) {
      const name = `${snippet.doc.replace(/^docs\//, '').replace(/\.md$/, '').replace(/[^A-Za-z0-9]+/g, '-')}-${i}.ts`;
      const file = join(snippetDir, name);
      // `export {}` keeps a block without imports a module (top-level await, no global names); it adds no line above.
      writeFileSync(file, `${snippet.code}\nexport {};\n`);
      byFile.set(ts.sys.resolvePath(file), snippet);
    }

    const program = ts.createProgram({ rootNames: [...byFile.keys()], options: compilerOptions() });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file !== undefined && byFile.has(ts.sys.resolvePath(d.file.fileName)))
      .map((d) => {
        const file = d.file as ts.SourceFile;
        const snippet = byFile.get(ts.sys.resolvePath(file.fileName)) as Snippet;
        const { line, character } = file.getLineAndCharacterOfPosition(d.start ?? 0);
        return `${snippet.doc}:${snippet.line + line}:${character + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      });
    expect(problems).toEqual([]);
  });
});
