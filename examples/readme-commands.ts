/**
 * Reads the README's shell examples as commands to run: every ```sh block, in order, except a
 * block preceded by a `<!-- not run: why -->` line. A command ends at a line break outside
 * quotes that does not follow a backslash; a comment `# → …` on its last line or on the next
 * line says what it must answer.
 */

export interface ReadmeCommand {
  /** 1-based README line the command starts on. */
  line: number;
  /** The heading the block sits under. */
  section: string;
  text: string;
  /** The text after `→`, or null: then a curl must answer 2xx and anything else exit 0. */
  expectation: string | null;
}

export interface SkippedBlock {
  line: number;
  section: string;
  reason: string;
}

export interface ReadmeExamples {
  commands: ReadmeCommand[];
  skipped: SkippedBlock[];
}

const FENCE_OPEN = /^```(sh|bash|shell)\s*$/;
const NOT_RUN = /^<!--\s*not run:\s*(.*?)\s*-->$/;
const EXPECTATION = /^#\s*→\s*(.*)$/;

interface LineState {
  quote: "'" | '"' | null;
  /** Where an unquoted `#` starts a comment on this line, or -1. */
  commentAt: number;
  continues: boolean;
}

/** Follows bash quoting across one line, starting inside `quote` (or outside any). */
const scanLine = (line: string, quote: LineState['quote']): LineState => {
  let commentAt = -1;
  for (let i = 0; i < line.length; i += 1) {
    const char = line[i]!;
    if (quote === "'") {
      if (char === "'") quote = null;
    } else if (quote === '"') {
      if (char === '\\') i += 1;
      else if (char === '"') quote = null;
    } else if (char === '\\') {
      if (i === line.length - 1) return { quote, commentAt, continues: true };
      i += 1;
    } else if (char === "'" || char === '"') {
      quote = char;
    } else if (char === '#' && (i === 0 || /\s/.test(line[i - 1]!))) {
      commentAt = i;
      break;
    }
  }
  return { quote, commentAt, continues: quote !== null };
};

/** The commands of one block's lines; `first` is the README line of the block's first line. */
export const blockCommands = (lines: string[], first: number, section: string): ReadmeCommand[] => {
  const commands: ReadmeCommand[] = [];
  let open: { line: number; lines: string[]; quote: LineState['quote'] } | null = null;
  lines.forEach((line, index) => {
    if (open === null) {
      const trimmed = line.trim();
      if (trimmed === '') return;
      if (trimmed.startsWith('#')) {
        const expected = EXPECTATION.exec(trimmed);
        const last = commands.at(-1);
        if (expected && last && last.expectation === null) last.expectation = expected[1]!;
        return;
      }
      open = { line: first + index, lines: [], quote: null };
    }
    open.lines.push(line);
    const state = scanLine(line, open.quote);
    open.quote = state.quote;
    if (state.continues) return;
    const trailing = state.commentAt >= 0 ? line.slice(state.commentAt).trim() : '';
    const expected = EXPECTATION.exec(trailing);
    commands.push({
      line: open.line,
      section,
      text: open.lines.join('\n'),
      expectation: expected ? expected[1]! : null,
    });
    open = null;
  });
  if (open !== null)
    throw new Error(`README line ${(open as { line: number }).line}: a command never ends`);
  return commands;
};

export const readmeExamples = (markdown: string): ReadmeExamples => {
  const lines = markdown.split('\n');
  const commands: ReadmeCommand[] = [];
  const skipped: SkippedBlock[] = [];
  let section = '';
  let previous = '';
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i]!;
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (heading) section = heading[1]!;
    if (!FENCE_OPEN.test(line)) {
      if (line.trim() !== '') previous = line.trim();
      continue;
    }
    const end = lines.findIndex((candidate, j) => j > i && candidate.startsWith('```'));
    if (end < 0) throw new Error(`README line ${i + 1}: a code block never closes`);
    const notRun = NOT_RUN.exec(previous);
    if (notRun) skipped.push({ line: i + 1, section, reason: notRun[1]! });
    else commands.push(...blockCommands(lines.slice(i + 1, end), i + 2, section));
    previous = '';
    i = end;
  }
  return { commands, skipped };
};
