import { HubError } from '../errors/hub-error';

interface Problem {
  code?: string;
  detail?: string;
  title?: string;
}

/** The hub answered, but not with success: its problem+json, on one line. */
export class HubRefusedError extends HubError {
  constructor(
    readonly status: number,
    problem: Problem,
  ) {
    super(
      'unavailable',
      'HUB_REFUSED',
      `The hub refused the request (${status} ${problem.code ?? 'error'}): ${problem.detail ?? problem.title ?? 'no detail'}`,
    );
  }
}

/** Talks to a hub's API as one principal: what the CLI does when it cannot open the store. */
export class HubClient {
  readonly base: string;

  constructor(
    base: string,
    private readonly token: string,
  ) {
    this.base = base.replace(/\/$/, '');
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, json: unknown): Promise<T> {
    return this.request<T>('POST', path, { text: JSON.stringify(json), type: 'application/json' });
  }

  delete(path: string): Promise<unknown> {
    return this.request('DELETE', path);
  }

  /** Resolves to the JSON answer (null for 204); throws one-line errors. */
  async request<T>(
    method: string,
    path: string,
    body?: { text: string; type: string },
  ): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    if (body) headers['content-type'] = body.type;
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, { method, headers, body: body?.text });
    } catch (error) {
      throw new HubError(
        'unavailable',
        'HUB_UNREACHABLE',
        `Could not reach the hub at ${this.base}`,
        {},
        { cause: (error as Error).cause ?? error },
      );
    }
    const answer: unknown =
      response.status === 204 ? null : await response.json().catch(() => ({}));
    if (!response.ok) throw new HubRefusedError(response.status, answer ?? {});
    return answer as T;
  }
}
