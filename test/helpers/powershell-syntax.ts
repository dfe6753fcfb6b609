/**
 * PowerShell's syntax checked on Linux, where no PowerShell runs: tree-sitter's PowerShell grammar
 * (its WebAssembly build, no native module) finds what PowerShell's own parser would refuse. The
 * grammar is stricter in one place: a list of bare words (`-Class Camera,Image`) must be quoted
 * (`'Camera','Image'`), which PowerShell reads the same.
 */
import { createRequire } from 'node:module';
import { Language, Parser, type Node } from 'web-tree-sitter';

let parser: Promise<Parser> | undefined;

async function powershellParser(): Promise<Parser> {
  await Parser.init();
  const require = createRequire(import.meta.url);
  const language = await Language.load(require.resolve('tree-sitter-powershell/tree-sitter-powershell.wasm'));
  const created = new Parser();
  created.setLanguage(language);
  return created;
}

export interface SyntaxProblem {
  line: number;
  column: number;
  text: string;
}

/** Where the script does not parse: each error or missing token with its line (1-based) and text. */
export async function powershellSyntaxProblems(script: string): Promise<SyntaxProblem[]> {
  const tree = (await (parser ??= powershellParser())).parse(script);
  if (!tree) throw new Error('tree-sitter returned no tree');
  const problems: SyntaxProblem[] = [];
  const visit = (node: Node): void => {
    if (node.isError || node.isMissing) {
      problems.push({ line: node.startPosition.row + 1, column: node.startPosition.column + 1, text: node.text.slice(0, 120) });
      return;
    }
    for (const child of node.children) if (child) visit(child);
  };
  visit(tree.rootNode);
  return problems;
}
