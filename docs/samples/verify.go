// Verifies a reghook webhook with Go's standard library only (Go 1.16 or later).
// Usage: go run verify.go signed-webhook.json [now-unix-seconds]
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

const toleranceSeconds = 300

// verify returns an error unless the raw body is signed with the secret and fresh.
func verify(secret string, headers map[string]string, body []byte, now int64) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) == 0 {
		return errors.New("the secret is not whsec_ followed by base64")
	}
	id, timestamp := headers["webhook-id"], headers["webhook-timestamp"]
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + timestamp + "."))
	mac.Write(body)
	expected := []byte("v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	// Any entry may match: during a secret rotation there is one signature per secret.
	matches := false
	for _, entry := range strings.Split(headers["webhook-signature"], " ") {
		if hmac.Equal([]byte(entry), expected) {
			matches = true
		}
	}
	if !matches {
		return errors.New("no webhook-signature matches")
	}
	seconds, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil || seconds < 0 || now-seconds > toleranceSeconds || seconds-now > toleranceSeconds {
		return errors.New("webhook-timestamp is more than 5 minutes away from now")
	}
	return nil
}

func main() {
	var sample struct {
		Secret  string            `json:"secret"`
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"`
	}
	text, err := os.ReadFile(os.Args[1])
	if err == nil {
		err = json.Unmarshal(text, &sample)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot read the sample:", err)
		os.Exit(1)
	}
	now := time.Now().Unix()
	if len(os.Args) > 2 {
		if now, err = strconv.ParseInt(os.Args[2], 10, 64); err != nil {
			fmt.Fprintln(os.Stderr, "now must be unix seconds")
			os.Exit(1)
		}
	}
	// In a web handler: the bytes of io.ReadAll(r.Body), never re-encoded JSON.
	if err := verify(sample.Secret, sample.Headers, []byte(sample.Body), now); err != nil {
		fmt.Fprintln(os.Stderr, "refused:", err)
		os.Exit(1)
	}
	fmt.Println("verified", sample.Headers["webhook-id"])
}
