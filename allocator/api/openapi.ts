/** The OpenAPI 3 document of the REST API, served at /_sdfleet/api/v1/openapi.json. */

const error = { $ref: '#/components/responses/Error' };
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errorBody = { type: 'object', required: ['error'], properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } } };

export function openApiDocument(): object {
  return {
    openapi: '3.0.3',
    info: {
      title: 'sdfleet allocator',
      version: '1',
      description:
        'Each signed-in user gets a dedicated Stable Diffusion WebUI instance. Browser sessions authenticate with the session ' +
        'cookie and send the CSRF token from GET /me in the x-sdfleet-csrf header on every state-changing request; API clients ' +
        'send a bearer token. Errors are {"error":{"code","message"}}. Live updates come over socket.io at /_sdfleet/socket.io ' +
        '(same authentication): `state` (schema State) to each user, `fleet` (schema FleetSummary, counts only) to every socket ' +
        'as one broadcast, `idle-warning`, `idle-clear`, `instance-gone`; see allocator/README.md.',
    },
    servers: [{ url: '/_sdfleet/api/v1' }],
    security: [{ cookie: [] }, { bearer: [] }],
    paths: {
      '/signin': { post: { summary: 'Sign in by name (dev mode only)', requestBody: json({ type: 'object', required: ['name'], properties: { name: { type: 'string', maxLength: 64 } } }), responses: { 200: { description: 'Signed in; sets the session cookie' }, 400: error, 404: error } } },
      '/signout': { post: { summary: 'Sign out (clears the cookie)', responses: { 204: { description: 'Signed out' } } } },
      '/me': { get: { summary: 'Who I am, my CSRF token, my session or place in the queue', responses: { 200: json(ref('Me')), 401: error } } },
      '/profiles': { get: { summary: 'Profiles to choose from, with what is free now', responses: { 200: json({ type: 'object', properties: { profiles: { type: 'array', items: ref('Profile') } } }), 401: error } } },
      '/sessions': {
        post: {
          summary: 'Start my session (idempotent)',
          requestBody: json({ type: 'object', properties: { profile: { type: 'string' } } }),
          responses: {
            200: { description: 'I already had one', ...json({ type: 'object', properties: { session: ref('Session') } }) },
            201: { description: 'Allocated', ...json({ type: 'object', properties: { session: ref('Session') } }) },
            202: { description: 'Queued', ...json({ type: 'object', properties: { queue: ref('Queue') } }) },
            400: error, 401: error, 403: error,
            409: { $ref: '#/components/responses/StartConflict' },
            413: error, 429: error, 503: error,
          },
        },
        get: { summary: 'All live sessions (admin)', responses: { 200: json({ type: 'object', properties: { sessions: { type: 'array', items: ref('Session') } } }), 401: error, 403: error } },
      },
      '/sessions/me': { get: { summary: 'My session or my place in the queue', responses: { 200: json({ type: 'object' }), 401: error, 404: error } } },
      '/sessions/{id}': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        get: { summary: 'A session (mine, or any for admins)', responses: { 200: json({ type: 'object', properties: { session: ref('Session') } }), 401: error, 404: error } },
        delete: { summary: 'End a session (release; outputs are kept)', responses: { 202: json({ type: 'object', properties: { session: ref('Session') } }), 401: error, 403: error, 404: error, 409: error } },
      },
      '/sessions/{id}/keepalive': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        post: { summary: "I'm still here: postpones the idle release", responses: { 200: json({ type: 'object', properties: { session: ref('Session') } }), 401: error, 403: error, 404: error, 409: error } },
      },
      '/queue/me': { delete: { summary: 'Leave the queue', responses: { 204: { description: 'Left' }, 401: error, 403: error } } },
      '/images': { get: { summary: 'My images, newest first, across sessions', responses: { 200: json({ type: 'object', properties: { images: { type: 'array', items: ref('Image') } } }), 401: error } } },
      '/images/file/{path}': { get: { summary: 'One of my images (?download for an attachment)', parameters: [{ name: 'path', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: { description: 'The image' }, 401: error, 404: error } } },
      '/fleets': { get: { summary: 'GameServers by fleet and state (admin)', responses: { 200: json({ type: 'object' }), 401: error, 403: error } } },
      '/fleets/{name}/scale': {
        put: {
          summary: 'Scale a fleet (admin)',
          parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
          requestBody: json({ type: 'object', required: ['replicas'], properties: { replicas: { type: 'integer', minimum: 0, maximum: 1000 } } }),
          responses: { 200: json({ type: 'object' }), 400: error, 401: error, 403: error, 404: error },
        },
      },
      '/queue': { get: { summary: 'Who waits, by profile (admin)', responses: { 200: json({ type: 'object' }), 401: error, 403: error } } },
    },
    components: {
      securitySchemes: {
        cookie: { type: 'apiKey', in: 'cookie', name: 'sdfleet_session' },
        bearer: { type: 'http', scheme: 'bearer' },
      },
      responses: {
        Error: { description: 'What went wrong and what to do', ...json(errorBody) },
        StartConflict: {
          description: 'code session_releasing: my last session is still ending (its images are being saved), ask again after Retry-After seconds; code busy: another request of mine is being handled',
          headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'seconds (session_releasing)' } },
          ...json(errorBody),
        },
      },
      schemas: {
        Session: {
          type: 'object',
          required: ['id', 'state', 'profile', 'instance', 'startedAt', 'deadline'],
          properties: {
            id: { type: 'string' }, state: { type: 'string', enum: ['active', 'releasing', 'gone'] }, profile: { type: 'string' },
            instance: { type: 'string' }, startedAt: { type: 'string', format: 'date-time' }, lastActivity: { type: 'string', format: 'date-time' },
            generating: { type: 'boolean' }, deadline: { type: 'string', format: 'date-time', description: 'idle deadline (or the maximum length)' },
            deadlineReason: { type: 'string', enum: ['idle', 'max-length'] }, warning: { type: 'boolean' }, reason: { type: 'string' }, url: { type: 'string' },
          },
        },
        Queue: {
          type: 'object',
          properties: { state: { type: 'string', enum: ['queued'] }, profile: { type: 'string' }, position: { type: 'integer' }, total: { type: 'integer' }, eta: { type: 'integer', nullable: true, description: 'seconds' }, queuedAt: { type: 'string', format: 'date-time' } },
        },
        State: {
          type: 'object',
          description: 'socket.io `state`: my session or my place in the queue',
          properties: { session: { allOf: [ref('Session')], nullable: true }, queue: { allOf: [ref('Queue')], nullable: true }, at: { type: 'string', format: 'date-time' } },
        },
        FleetSummary: {
          type: 'object',
          description: 'socket.io `fleet`: what every page may show of the fleet; no user data',
          required: ['ready', 'starting', 'allocated', 'waiting', 'profiles'],
          properties: {
            ready: { type: 'integer', description: 'instances free now' }, starting: { type: 'integer' }, allocated: { type: 'integer', description: 'instances in use' },
            waiting: { type: 'integer', description: 'users in the queue' },
            profiles: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, ready: { type: 'integer' }, starting: { type: 'integer' }, waiting: { type: 'integer' } } } },
          },
        },
        Profile: { type: 'object', properties: { name: { type: 'string' }, title: { type: 'string' }, description: { type: 'string' }, ready: { type: 'integer' }, starting: { type: 'integer' }, waiting: { type: 'integer' } } },
        Image: { type: 'object', properties: { path: { type: 'string' }, size: { type: 'integer' }, modified: { type: 'string', format: 'date-time' }, url: { type: 'string' } } },
        Me: { type: 'object', properties: { user: { type: 'object' }, csrfToken: { type: 'string', nullable: true }, session: ref('Session'), queue: ref('Queue') } },
      },
    },
  };
}
