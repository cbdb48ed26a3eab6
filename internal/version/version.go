// Package version holds vtsync's release version, shared by the binary, the
// app's app.conf and the package name.
package version

// Version is the release version (Major.Minor.Revision).
const Version = "1.0.0"

// Build is the app.conf [install] build number; raise it with every release.
const Build = 1
