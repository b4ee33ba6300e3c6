<?php
// Verifies a reghook webhook with PHP's standard library only (PHP 7.4 or later).
// Usage: php verify.php signed-webhook.json [now-unix-seconds]

const TOLERANCE_SECONDS = 300;

/** Throws unless the raw body is signed with the secret and fresh. */
function verify(string $secret, array $headers, string $body, int $now): void
{
    $key = base64_decode(preg_replace('/^whsec_/', '', $secret), true);
    if ($key === false || $key === '') {
        throw new RuntimeException('the secret is not whsec_ followed by base64');
    }
    $id = $headers['webhook-id'];
    $timestamp = $headers['webhook-timestamp'];
    $mac = hash_hmac('sha256', "{$id}.{$timestamp}.{$body}", $key, true);
    $expected = 'v1,' . base64_encode($mac);
    // Any entry may match: during a secret rotation there is one signature per secret.
    $matches = false;
    foreach (explode(' ', $headers['webhook-signature']) as $entry) {
        if (hash_equals($expected, $entry)) {
            $matches = true;
        }
    }
    if (!$matches) {
        throw new RuntimeException('no webhook-signature matches');
    }
    if (!preg_match('/\A[0-9]+\z/', $timestamp) || abs($now - (int) $timestamp) > TOLERANCE_SECONDS) {
        throw new RuntimeException('webhook-timestamp is more than 5 minutes away from now');
    }
}

$sample = json_decode(file_get_contents($argv[1]), true, 512, JSON_THROW_ON_ERROR);
$now = isset($argv[2]) ? (int) $argv[2] : time();
try {
    // In a web handler: file_get_contents('php://input'), never a re-encoded json_decode result.
    verify($sample['secret'], $sample['headers'], $sample['body'], $now);
} catch (RuntimeException $error) {
    fwrite(STDERR, "refused: {$error->getMessage()}\n");
    exit(1);
}
echo "verified {$sample['headers']['webhook-id']}\n";
