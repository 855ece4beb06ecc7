import { redact } from '../config/hub-config';
import { backendName, LmsBackend, LmsBackendSettings } from './lms-backend';
import { MoodleBackend } from './moodle-backend';
import { OpenEdxBackend } from './openedx-backend';

/** What GET endpoints may show of an LMS: never its token. */
export interface LmsBackendPublicView {
  name: string;
  backend: LmsBackendSettings['backend'];
  baseUrl: string;
  selectorRegex: string;
  courseRegex: string;
  mode?: string;
  studentRoleId?: number;
}

/** Sticky copies: they match at lastIndex only, which is re.match's "from the start". */
const anchored = new WeakMap<RegExp, RegExp>();

/** Matches from the start of `text` but not necessarily to its end, as Python's re.match. */
export const matchFromStart = (regex: RegExp, text: string): RegExpExecArray | null => {
  let sticky = anchored.get(regex);
  if (sticky === undefined) {
    sticky = new RegExp(regex.source, regex.flags.replace(/[gy]/g, '') + 'y');
    anchored.set(regex, sticky);
  }
  sticky.lastIndex = 0;
  return sticky.exec(text);
};

/**
 * The LMS a resource link belongs to: the first backend whose SELECTOR_REGEX matches, as
 * Joanie first did (its later "exactly one match, else compare hosts" rule makes the order of
 * LMS_BACKENDS matter less but surprises more). Null when none matches, or when the chosen one's
 * COURSE_REGEX extracts no course id: a later backend is not tried then.
 */
export const selectLms = (
  backends: readonly LmsBackendSettings[],
  resourceLink: string,
): { backend: LmsBackendSettings; courseId: string } | null => {
  const backend = backends.find((candidate) =>
    matchFromStart(candidate.selectorRegex, resourceLink),
  );
  if (backend === undefined) return null;
  const courseId = matchFromStart(backend.courseRegex, resourceLink)?.groups?.course_id;
  return courseId ? { backend, courseId } : null;
};

/** A regex's source without the `\\/` that RegExp.source adds before every `/`. */
const readableSource = (regex: RegExp): string =>
  regex.source.replace(/\\(.)/g, (escape, char: string) => (char === '/' ? '/' : escape));

/** The settings without the token, for listings and logs. */
export const publicView = (settings: LmsBackendSettings): LmsBackendPublicView => {
  const view: LmsBackendPublicView = {
    name: backendName(settings),
    backend: settings.backend,
    baseUrl: redact(settings.baseUrl),
    selectorRegex: readableSource(settings.selectorRegex),
    courseRegex: readableSource(settings.courseRegex),
  };
  switch (settings.backend) {
    case 'openedx':
      return { ...view, mode: settings.mode };
    case 'moodle':
      return settings.studentRoleId === null
        ? view
        : { ...view, studentRoleId: settings.studentRoleId };
    default: {
      const unknown: never = settings.backend;
      return unknown;
    }
  }
};

/** The client of one configured LMS. */
export const createLmsBackend = (settings: LmsBackendSettings): LmsBackend => {
  switch (settings.backend) {
    case 'openedx':
      return new OpenEdxBackend(settings);
    case 'moodle':
      return new MoodleBackend(settings);
    default: {
      const unknown: never = settings.backend;
      throw new Error(`Unknown LMS backend ${String(unknown)}`);
    }
  }
};
