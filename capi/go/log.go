package pinecone

/*
#include "pinecone.h"
*/
import "C"

import (
	"sync"
	"sync/atomic"
)

// LogLevel is how detailed a record of the library's log is.
type LogLevel int

// The levels, least detailed first.
const (
	LogOff   LogLevel = C.PINECONE_LOG_OFF
	LogError LogLevel = C.PINECONE_LOG_ERROR
	LogWarn  LogLevel = C.PINECONE_LOG_WARN
	LogInfo  LogLevel = C.PINECONE_LOG_INFO
	LogDebug LogLevel = C.PINECONE_LOG_DEBUG
	LogTrace LogLevel = C.PINECONE_LOG_TRACE
)

// String names the level.
func (l LogLevel) String() string {
	switch l {
	case LogError:
		return "error"
	case LogWarn:
		return "warn"
	case LogInfo:
		return "info"
	case LogDebug:
		return "debug"
	case LogTrace:
		return "trace"
	}
	return "off"
}

// LogHandler receives one record of the library's log: its level, its
// target (the library's module that logged it) and its message with its
// fields.
type LogHandler func(level LogLevel, target, message string)

// Printfer is a logger such as a *log.Logger or a logrus entry.
type Printfer interface {
	Printf(format string, v ...any)
}

// PrintfLogHandler passes each record to logger as one line: the level,
// the target and the message.
func PrintfLogHandler(logger Printfer) LogHandler {
	return func(level LogLevel, target, message string) {
		logger.Printf("pinecone %s %s: %s", level, target, message)
	}
}

// logHandler is the handler records go to, a LogHandler or nil.
var logHandler atomic.Value

// logSetting makes SetLogHandler calls take turns.
var logSetting sync.Mutex

// SetLogHandler passes the library's log records up to maxLevel (LogInfo
// is a good default) to handler; a nil handler or LogOff stops them. It
// is process-wide: the records of every node go there. The handler runs
// on the library's threads, several at a time: it must be safe for
// concurrent use and return quickly, and it must not call SetLogHandler
// or wait for a Node's Close. Once this returns, the previous handler is
// never called again.
func SetLogHandler(maxLevel LogLevel, handler LogHandler) error {
	logSetting.Lock()
	defer logSetting.Unlock()
	if handler == nil {
		maxLevel = LogOff
	}
	if handler != nil {
		logHandler.Store(handler)
	}
	// Returns once calls of the old handler are over.
	err := onOneThread(func() error {
		if setGoLog(C.int(maxLevel)) != 0 {
			return lastError("log")
		}
		return nil
	})
	if err == nil && handler == nil {
		logHandler.Store(LogHandler(nil))
	}
	return err
}

// goPineconeLog receives each record on the thread that logged it.
//
//export goPineconeLog
func goPineconeLog(level C.int, target, message *C.char) {
	handler, _ := logHandler.Load().(LogHandler)
	if handler != nil {
		handler(LogLevel(level), C.GoString(target), C.GoString(message))
	}
}
