/**
 * What a failed attempt means, in one sentence, and what most likely fixes it: one per transport
 * error kind and one per HTTP status (class), so the dashboard never shows a bare
 * `connection_refused` or `HTTP 204`. Pure and table-driven.
 */
import type { AttemptErrorKind } from './attempt-error.js';

export interface AttemptExplanation {
  /** What happened, in one sentence. */
  meaning: string;
  /** The likely fix, in one sentence. */
  fix: string;
}

/** One per ATTEMPT_ERROR_KINDS entry: the Record type makes a new kind without one a compile error. */
export const ERROR_KIND_EXPLANATIONS: Record<AttemptErrorKind, AttemptExplanation> = {
  timeout: {
    meaning: 'Your endpoint did not answer within the attempt timeout.',
    fix: 'Answer 200 right away and do slow work (emails, database writes) after responding or in a background job.',
  },
  connection_refused: {
    meaning: 'Nothing accepted the connection: no server listens at that host and port.',
    fix: 'Check that your server is running and that the URL has the right host and port.',
  },
  connection_reset: {
    meaning: 'Your server (or a proxy in front of it) closed the connection before sending an answer.',
    fix: 'Check your server and proxy logs for crashes or request limits at the time of the attempt.',
  },
  dns_error: {
    meaning: "The endpoint's host name could not be resolved (DNS).",
    fix: 'Check the host name in the URL for typos and that its DNS record exists.',
  },
  host_unreachable: {
    meaning: 'No network route reached the endpoint host.',
    fix: 'Check that the host is online and that its firewall lets connections from reghook in.',
  },
  tls_error: {
    meaning: 'The HTTPS handshake failed: the certificate is invalid, expired, self-signed or for another name.',
    fix: "Install a valid certificate for the URL's host name, including its intermediate certificates.",
  },
  invalid_url: {
    meaning: 'The endpoint URL cannot be requested as it stands.',
    fix: 'Save a full http:// or https:// URL on the Webhooks page.',
  },
  destination_refused: {
    meaning: "reghook refused to connect: the URL resolves to an address this deployment's destination policy forbids (such as a private network).",
    fix: 'Use a public address for the endpoint, or ask the operator to allow that destination.',
  },
  network_error: {
    meaning: 'The request failed on the network before an answer arrived.',
    fix: 'Send a test webhook to check the connection; if it keeps failing, check the network between reghook and your server.',
  },
  internal_error: {
    meaning: 'reghook itself failed while sending this attempt; your endpoint is not at fault.',
    fix: 'Nothing to change on your side: the attempt is retried on schedule (the operator sees the error in the logs).',
  },
};

/** Statuses with a sentence of their own. */
export const STATUS_EXPLANATIONS: Readonly<Record<number, AttemptExplanation>> = {
  400: {
    meaning: 'Your endpoint rejected the request as malformed (HTTP 400).',
    fix: 'Check that your handler reads the JSON body as sent and does not require fields or headers reghook does not send.',
  },
  401: {
    meaning: 'Your endpoint asked for authentication (HTTP 401).',
    fix: 'Verify the webhook-signature with the signing secret instead of requiring a login, or add the credential your server expects as a custom header.',
  },
  403: {
    meaning: 'Your endpoint (or a firewall in front of it) refused the request (HTTP 403).',
    fix: "Allow reghook's requests through, or check that signature verification uses the current signing secret.",
  },
  404: {
    meaning: 'Nothing is served at this URL (HTTP 404).',
    fix: 'Check the path of the endpoint URL against the route your server defines.',
  },
  405: {
    meaning: 'Your endpoint does not accept POST at this URL (HTTP 405).',
    fix: 'Make the route accept POST requests.',
  },
  410: {
    meaning: 'Your endpoint says this URL is gone for good (HTTP 410).',
    fix: 'Save the new endpoint URL, or disable the endpoint if you no longer want webhooks.',
  },
  413: {
    meaning: 'Your endpoint found the request body too large (HTTP 413).',
    fix: 'Raise the request size limit of your server or proxy for this route.',
  },
  415: {
    meaning: 'Your endpoint does not accept the content type application/json (HTTP 415).',
    fix: 'Accept JSON bodies (Content-Type: application/json) on this route.',
  },
  422: {
    meaning: 'Your endpoint understood the request but refused its content (HTTP 422).',
    fix: 'Check your validation against the event payload; answer 200 for events you choose to ignore.',
  },
  429: {
    meaning: 'Your endpoint is rate limiting reghook (HTTP 429).',
    fix: 'Raise the rate limit for reghook; the attempt is retried on schedule.',
  },
  500: {
    meaning: 'Your endpoint crashed while handling the request (HTTP 500).',
    fix: "Look in your server's logs at the time of the attempt for the error.",
  },
  502: {
    meaning: 'A proxy or gateway in front of your server got no valid answer from it (HTTP 502).',
    fix: 'Check that the application behind the proxy is running and reachable from it.',
  },
  503: {
    meaning: 'Your endpoint is unavailable, overloaded or in maintenance (HTTP 503).',
    fix: 'Bring the service back; the attempt is retried on schedule.',
  },
  504: {
    meaning: 'A proxy or gateway in front of your server timed out waiting for it (HTTP 504).',
    fix: "Answer faster (respond 200 first, work afterwards) or raise the proxy's timeout.",
  },
};

/** By class, for statuses without a sentence of their own. */
function classExplanation(status: number): AttemptExplanation {
  if (status >= 200 && status < 300) {
    return {
      meaning: `Your endpoint answered HTTP ${status}, but only 200 counts as delivered.`,
      fix: 'Answer exactly 200 (not 201, 202 or 204) once you have received the event.',
    };
  }
  if (status >= 300 && status < 400) {
    return {
      meaning: `Your endpoint answered with a redirect (HTTP ${status}); redirects are not followed.`,
      fix: 'Save the final URL (for example https:// instead of http://, or with the trailing slash) as the endpoint.',
    };
  }
  if (status >= 400 && status < 500) {
    return {
      meaning: `Your endpoint refused the request (HTTP ${status}).`,
      fix: "Look in your server's logs for why it refused; answer 200 once the event is received.",
    };
  }
  if (status >= 500 && status < 600) {
    return {
      meaning: `Your endpoint failed with a server error (HTTP ${status}).`,
      fix: "Look in your server's logs at the time of the attempt; the attempt is retried on schedule.",
    };
  }
  return {
    meaning: `Your endpoint answered with the unusual status HTTP ${status}.`,
    fix: 'Answer exactly HTTP 200 once you have received the event.',
  };
}

/**
 * Why an attempt failed and what to do: by its transport error kind first, else by its status.
 * Null for a success (200 without an error) and for an attempt without an outcome yet.
 */
export function explainAttempt(attempt: { statusCode: number | null; errorKind: AttemptErrorKind | null }): AttemptExplanation | null {
  if (attempt.errorKind !== null) return ERROR_KIND_EXPLANATIONS[attempt.errorKind];
  if (attempt.statusCode === null || attempt.statusCode === 200) return null;
  return STATUS_EXPLANATIONS[attempt.statusCode] ?? classExplanation(attempt.statusCode);
}

/** The explanation as one line: meaning, then the fix. */
export const explanationText = (e: AttemptExplanation): string => `${e.meaning} ${e.fix}`;
