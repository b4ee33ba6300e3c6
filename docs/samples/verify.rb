# Verifies a reghook webhook with Ruby's standard library only (Ruby 3.0 or later).
# Usage: ruby verify.rb signed-webhook.json [now-unix-seconds]
require "json"
require "openssl"

TOLERANCE_SECONDS = 300

# Raises ArgumentError unless the raw body is signed with the secret and fresh.
def verify(secret, headers, body, now)
  key = secret.delete_prefix("whsec_").unpack1("m0") # strict base64: ArgumentError otherwise
  raise ArgumentError, "the secret is empty" if key.empty?
  id, timestamp = headers.fetch("webhook-id"), headers.fetch("webhook-timestamp")
  mac = OpenSSL::HMAC.digest("SHA256", key, "#{id}.#{timestamp}.#{body}")
  expected = "v1," + [mac].pack("m0")
  # Any entry may match: during a secret rotation there is one signature per secret.
  matches = headers.fetch("webhook-signature").split(" ").map do |entry|
    entry.bytesize == expected.bytesize && OpenSSL.fixed_length_secure_compare(entry, expected)
  end
  raise ArgumentError, "no webhook-signature matches" unless matches.any?
  unless timestamp.match?(/\A[0-9]+\z/) && (now - timestamp.to_i).abs <= TOLERANCE_SECONDS
    raise ArgumentError, "webhook-timestamp is more than 5 minutes away from now"
  end
end

sample = JSON.parse(File.read(ARGV.fetch(0), encoding: "UTF-8"))
now = ARGV[1] ? Integer(ARGV[1], 10) : Time.now.to_i
begin
  # In a web handler: request.body.read (the raw bytes), never a re-generated JSON string.
  verify(sample["secret"], sample["headers"], sample["body"].b, now)
rescue ArgumentError => e
  warn "refused: #{e.message}"
  exit 1
end
puts "verified #{sample["headers"]["webhook-id"]}"
