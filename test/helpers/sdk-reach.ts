/**
 * Which AWS SDK commands a Lambda handler's code can send, derived from the sources with the
 * TypeScript checker (so a command added to any adapter is found without a hand-kept list).
 *
 * From the handler file's top-level statements, every reference that resolves to a declaration in
 * the project (function, method, variable, class constructor) is followed. A call through a port
 * (an interface method) reaches that method of every class implementing the port that the reached
 * code instantiates. A reference to a `XxxCommand` class of `@aws-sdk/client-<service>` is a command
 * the function can send; `new Upload(...)` of `@aws-sdk/lib-storage` adds the commands lib-storage
 * itself sends (read from its source: the multipart ones and PutObject; PutObjectTagging only when
 * the Upload is given `tags`).
 *
 * Dispatch on a string (`switch (op.op) { case 'deletePartitions': ... }`, as the Glue adapter does
 * for Catalog.apply) is followed per case: a case body is reached only once the reached code
 * holds that string as a value (`{ op: 'deletePartitions', ... }`), so a function that never asks
 * for a partition delete is not said to send BatchDeletePartition.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import ts from 'typescript';

export interface Reach {
  /** `service:Operation` (service as in the client package name: s3, glue, athena, quicksight, sns). */
  commands: Set<string>;
  /** Whether lib-storage's Upload is reached (multipart uploads). */
  multipart: boolean;
  /** The reached declarations, for other questions about the code (names of reached exports per file). */
  reachedExports: Map<string, Set<string>>;
  /** String values held by the reached code (not types, not case labels; template literal parts too). */
  strings: Set<string>;
}

const CLIENT_COMMAND = /[\\/]@aws-sdk[\\/]client-([a-z0-9-]+)[\\/]/;
const LIB_STORAGE = /[\\/]@aws-sdk[\\/]lib-storage[\\/]/;

/** The commands lib-storage's Upload sends, from its own source; PutObjectTagging needs `tags`. */
function libStorageCommands(root: string): { always: string[]; withTags: string[] } {
  const req = createRequire(path.join(root, 'package.json'));
  const dir = path.dirname(req.resolve('@aws-sdk/lib-storage/package.json'));
  const src = readFileSync(path.join(dir, 'dist-es', 'Upload.js'), 'utf8');
  const ops = [...new Set([...src.matchAll(/new (\w+)Command\(/g)].map((m) => m[1]!))];
  return {
    always: ops.filter((o) => o !== 'PutObjectTagging').map((o) => `s3:${o}`),
    withTags: ops.filter((o) => o === 'PutObjectTagging').map((o) => `s3:${o}`),
  };
}

export function createProgram(root: string, entries: string[]): ts.Program {
  const configPath = path.join(root, 'tsconfig.json');
  const cfg = ts.readConfigFile(configPath, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(cfg.config, ts.sys, root);
  return ts.createProgram(entries, { ...parsed.options, noEmit: true });
}

export function reachFrom(program: ts.Program, root: string, entry: string): Reach {
  const checker = program.getTypeChecker();
  const lib = libStorageCommands(root);
  const inProject = (f: ts.SourceFile) => !f.isDeclarationFile && !f.fileName.includes('/node_modules/') && f.fileName.startsWith(root);
  const commands = new Set<string>();
  const strings = new Set<string>();
  const reachedExports = new Map<string, Set<string>>();
  let multipart = false;

  const visited = new Set<ts.Node>();
  const queue: ts.Node[] = [];
  const enqueue = (n: ts.Node) => {
    if (!visited.has(n)) {
      visited.add(n);
      queue.push(n);
    }
  };
  /** Case bodies waiting for their string to be held by reached code. */
  const pendingCases = new Map<string, ts.Node[]>();
  /** Interface (port) members reached, by interface declaration, and the classes instantiated. */
  const reachedPortMembers = new Map<ts.InterfaceDeclaration, Set<string>>();
  const instantiated = new Set<ts.ClassDeclaration>();

  const implementsPort = (cls: ts.ClassDeclaration, port: ts.InterfaceDeclaration) =>
    (cls.heritageClauses ?? []).some((h) => h.token === ts.SyntaxKind.ImplementsKeyword && h.types.some((t) => declOf(t.expression)?.some((d) => d === port)));
  const memberOf = (cls: ts.ClassDeclaration, name: string) => cls.members.filter((m) => m.name && ts.isIdentifier(m.name) && m.name.text === name);

  function declOf(node: ts.Node): ts.Declaration[] | undefined {
    let sym = checker.getSymbolAtLocation(node);
    if (!sym) return undefined;
    if (sym.flags & ts.SymbolFlags.Alias) sym = checker.getAliasedSymbol(sym);
    return sym.declarations;
  }

  function reachDeclaration(d: ts.Declaration, ref: ts.Node): void {
    const file = d.getSourceFile();
    if (!inProject(file)) {
      const client = CLIENT_COMMAND.exec(file.fileName);
      const name = ts.isClassDeclaration(d) || ts.isVariableDeclaration(d) ? d.name?.getText() : undefined;
      if (client && name?.endsWith('Command') && name !== 'Command') commands.add(`${client[1]}:${name.slice(0, -'Command'.length)}`);
      if (LIB_STORAGE.test(file.fileName) && name === 'Upload') {
        multipart = true;
        for (const c of lib.always) commands.add(c);
        const args = ts.isNewExpression(ref.parent) ? ref.parent.arguments : undefined;
        const opts = args?.[0];
        if (opts && (!ts.isObjectLiteralExpression(opts) || opts.properties.some((p) => p.name?.getText() === 'tags')))
          for (const c of lib.withTags) commands.add(c);
      }
      return;
    }
    if (ts.isClassDeclaration(d)) {
      // A class: its constructor and field initialisers run on `new`; methods only when referenced.
      if (!instantiated.has(d)) {
        instantiated.add(d);
        for (const m of d.members) if (ts.isConstructorDeclaration(m) || (ts.isPropertyDeclaration(m) && m.initializer)) enqueue(m);
        for (const [port, names] of reachedPortMembers) if (implementsPort(d, port)) for (const n of names) for (const m of memberOf(d, n)) enqueue(m);
      }
      return;
    }
    if ((ts.isMethodSignature(d) || ts.isPropertySignature(d)) && ts.isInterfaceDeclaration(d.parent)) {
      const port = d.parent;
      const name = d.name.getText();
      const names = reachedPortMembers.get(port) ?? new Set<string>();
      reachedPortMembers.set(port, names);
      if (!names.has(name)) {
        names.add(name);
        for (const cls of instantiated) if (implementsPort(cls, port)) for (const m of memberOf(cls, name)) enqueue(m);
      }
      return;
    }
    if (
      ts.isFunctionDeclaration(d) ||
      ts.isMethodDeclaration(d) ||
      ts.isVariableDeclaration(d) ||
      ts.isPropertyDeclaration(d) ||
      ts.isGetAccessor(d) ||
      ts.isSetAccessor(d)
    ) {
      const stmt = ts.isVariableDeclaration(d) ? d.parent.parent : d;
      if (ts.isSourceFile(stmt.parent) && (ts.getCombinedModifierFlags(d as ts.Declaration) & ts.ModifierFlags.Export || ts.isVariableStatement(stmt))) {
        const names = reachedExports.get(file.fileName) ?? new Set<string>();
        reachedExports.set(file.fileName, names);
        if (d.name) names.add(d.name.getText());
      }
      enqueue(d);
    }
  }

  function holdString(s: string): void {
    if (strings.has(s)) return;
    strings.add(s);
    for (const n of pendingCases.get(s) ?? []) enqueue(n);
    pendingCases.delete(s);
  }

  function visit(node: ts.Node): void {
    if (ts.isTypeNode(node) || ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node) || ts.isImportDeclaration(node)) return;
    if (ts.isCaseClause(node) && ts.isStringLiteralLike(node.expression)) {
      const label = node.expression.text;
      for (const st of node.statements) {
        if (strings.has(label)) enqueue(st);
        else pendingCases.set(label, [...(pendingCases.get(label) ?? []), st]);
      }
      return;
    }
    if (ts.isStringLiteralLike(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) holdString(node.text);
    if (ts.isIdentifier(node) || ts.isPrivateIdentifier(node)) {
      for (const d of declOf(node) ?? []) reachDeclaration(d, node);
    }
    if (ts.isMethodDeclaration(node) || ts.isFunctionDeclaration(node)) {
      // Reached as a whole declaration: visit its body only (the name is the reference).
      if (node.body) visit(node.body);
      for (const p of node.parameters) if (p.initializer) visit(p.initializer);
      return;
    }
    ts.forEachChild(node, visit);
  }

  const source = program.getSourceFile(entry);
  if (!source) throw new Error(`${entry} is not in the program`);
  for (const st of source.statements) enqueue(st);
  while (queue.length) visit(queue.shift()!);
  return { commands, multipart, reachedExports, strings };
}
