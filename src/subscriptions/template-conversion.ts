import type { TemplateBudgetConfig } from '../config/hub-config';
import {
  compiledTemplate,
  isCompiled,
  RenderLimits,
  TemplateBudget,
  TemplateBudgetError,
} from './templates';

/**
 * One template run on one event's context, in two halves: rendering (in a render worker, or
 * inline on the old synchronous path) and reading its output as the item's payload (in the
 * caller). Both halves are shared, so every path reports the same conversionError texts.
 */
export type RenderOutcome =
  | { kind: 'rendered'; output: string }
  /** `budget` says which limit it went over (the worker's heap too), if that is why it failed. */
  | { kind: 'failed'; conversionError: string; budget: TemplateBudget | 'memory' | null };

export interface Conversion {
  payload: unknown;
  conversionError: string | null;
}

/** One item's limits, from the settings. */
export const itemLimits = (
  budgets: TemplateBudgetConfig,
): RenderLimits & { maxMilliseconds: number } => ({
  maxIterations: budgets.itemMaxIterations,
  maxOutputChars: budgets.itemMaxChars,
  maxMilliseconds: budgets.itemTimeoutMs,
});

const failureText = (error: unknown): string =>
  `the template failed: ${error instanceof Error ? error.message : String(error)}`;

/** Renders within the limits; a template that throws or goes over them is a failure. */
export const renderTemplate = (
  source: string,
  context: Record<string, unknown>,
  limits: RenderLimits,
): RenderOutcome => {
  try {
    return { kind: 'rendered', output: compiledTemplate(source)(context, limits) };
  } catch (error) {
    if (error instanceof TemplateBudgetError)
      return { kind: 'failed', conversionError: error.message, budget: error.budget };
    return { kind: 'failed', conversionError: failureText(error), budget: null };
  }
};

/** Whether the source still has to be compiled before it renders (large ones take a while). */
export const needsCompiling = (source: string): boolean => !isCompiled(source);

/** Compiles ahead of the render, so that a render's time is its own. */
export const compileAhead = (source: string): void => {
  try {
    compiledTemplate(source);
  } catch {
    // The render reports it, as it would have without this step.
  }
};

const MAX_OUTPUT_SHOWN = 200;

/** The item's payload: the output parsed, or why there is none. */
export const conversionOf = (outcome: RenderOutcome): Conversion => {
  if (outcome.kind === 'failed') return { payload: null, conversionError: outcome.conversionError };
  const { output } = outcome;
  try {
    return { payload: JSON.parse(output) as unknown, conversionError: null };
  } catch {
    const shown =
      output.length > MAX_OUTPUT_SHOWN ? `${output.slice(0, MAX_OUTPUT_SHOWN)}…` : output;
    return { payload: null, conversionError: `the template did not produce JSON: ${shown}` };
  }
};

/** A failure the renderer itself reports (a worker stopped, a template set aside). */
export const failedConversion = (
  conversionError: string,
  budget: 'time' | 'memory' | null = null,
): RenderOutcome => ({ kind: 'failed', conversionError, budget });
