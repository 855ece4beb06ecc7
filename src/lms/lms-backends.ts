import { Inject, Injectable } from '@nestjs/common';
import { HUB_CONFIG, HubConfig } from '../config/hub-config';
import { LmsBackendSettings } from '../config/lms-backends';
import { backendName, LmsBackend } from './lms-backend';
import { createLmsBackend, selectLms } from './lms-selection';
import { LmsHealth } from './lms-health';

/** The LMS that serves a resource link, and the course id there. */
export interface SelectedLms {
  name: string;
  backend: LmsBackend;
  courseId: string;
}

/** The configured LMSs, built once, with what this instance saw of their health. */
@Injectable()
export class LmsBackends {
  readonly health = new LmsHealth();
  private readonly byName = new Map<string, LmsBackend>();

  constructor(@Inject(HUB_CONFIG) private readonly config: HubConfig) {
    for (const settings of config.lms.backends)
      this.byName.set(backendName(settings), createLmsBackend(settings));
  }

  get settings(): readonly LmsBackendSettings[] {
    return this.config.lms.backends;
  }

  /** As Joanie: the first backend whose selector matches the link; null when none does. */
  select(resourceLink: string): SelectedLms | null {
    const selected = selectLms(this.config.lms.backends, resourceLink);
    if (!selected) return null;
    const name = backendName(selected.backend);
    const backend = this.byName.get(name);
    return backend ? { name, backend, courseId: selected.courseId } : null;
  }
}
