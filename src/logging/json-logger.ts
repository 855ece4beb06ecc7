import { LoggerService } from '@nestjs/common';
import pino, { Logger } from 'pino';
import { LogLevel } from '../config/hub-config';

/** One JSON line per entry on stdout, shared by Nest, Fastify (per request) and our own code. */
export const createRootLogger = (level: LogLevel): Logger =>
  pino({
    level,
    base: { service: 'learning-hub' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });

/** Routes Nest's own log calls into the JSON log. */
export class JsonLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, ...context: unknown[]): void {
    this.logger.info(this.fields(context), this.text(message));
  }
  error(message: unknown, ...context: unknown[]): void {
    this.logger.error(this.fields(context), this.text(message));
  }
  warn(message: unknown, ...context: unknown[]): void {
    this.logger.warn(this.fields(context), this.text(message));
  }
  debug(message: unknown, ...context: unknown[]): void {
    this.logger.debug(this.fields(context), this.text(message));
  }
  verbose(message: unknown, ...context: unknown[]): void {
    this.logger.trace(this.fields(context), this.text(message));
  }
  fatal(message: unknown, ...context: unknown[]): void {
    this.logger.fatal(this.fields(context), this.text(message));
  }

  private text(message: unknown): string {
    if (typeof message === 'string') return message;
    // JSON.stringify drops an Error's message and stack.
    if (message instanceof Error) return `${message.name}: ${message.message}`;
    return JSON.stringify(message);
  }

  private fields(context: unknown[]): Record<string, unknown> {
    const fields: Record<string, unknown> = {};
    for (const item of context) {
      if (typeof item === 'string') fields.context = item;
      else if (item instanceof Error) fields.err = item;
      else if (item && typeof item === 'object') Object.assign(fields, item);
    }
    return fields;
  }
}
