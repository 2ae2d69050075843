package cmdutil

import "github.com/fashionclip/fashionclip/internal/output"

// QuietPipe turns a closed stdout into success.
func QuietPipe(err error) error {
	if output.IsClosedPipe(err) {
		return nil
	}
	return err
}
