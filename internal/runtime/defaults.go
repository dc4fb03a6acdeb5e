package runtime

import "time"

// The defaults that more than one part of the server states, each named once
// (#13): the generator writes them into the tool schemas, the app into its
// flags and environment, and the runtime applies them.
const (
	// DefaultTimeout bounds one upstream request (MIOSA_TIMEOUT_MS).
	DefaultTimeout = 30 * time.Second
	// DefaultMaxBodyBytes caps an HTTP request body (--max-body-bytes):
	// 5 MiB; a larger body gets 413.
	DefaultMaxBodyBytes = 5 << 20
	// DefaultWaitTimeoutSec is how long a `wait: true` call polls when the
	// caller gives no wait_timeout_sec; MaxWaitTimeoutSec is the most it
	// may ask for (the tool's input schema enforces both bounds).
	DefaultWaitTimeoutSec = 120
	MaxWaitTimeoutSec     = 600
	// DefaultLogLines is how many lines a log tool returns when the caller
	// gives no `lines`; MaxLogLines is the most it returns.
	DefaultLogLines = 100
	MaxLogLines     = 1000
	// DefaultLocalMaxBytes caps the bytes one call moves to or from local
	// files over stdio (--local-max-bytes, MIOSA_LOCAL_MAX_BYTES): a single
	// file, a directory's files together, or a download. 256 MiB holds a
	// built site or a database dump; files are streamed, so the cap bounds
	// time and disk, not the server's memory.
	DefaultLocalMaxBytes = 256 << 20
	// DefaultLocalMaxFiles caps the files of one directory upload
	// (--local-max-files, MIOSA_LOCAL_MAX_FILES); each is one API request.
	DefaultLocalMaxFiles = 1000
	// ResourceListSize is the page size of the one list call that finds
	// the candidates for an omitted id (bind.go): enough to see every
	// resource of a typical account, few enough to stay one quick call.
	// MaxCandidates is how many of them an error lists.
	ResourceListSize = 50
	MaxCandidates    = 10
)
