package inmemory_test

import (
	"testing"

	"github.com/berthhq/berth/storage/driver"
	"github.com/berthhq/berth/storage/driver/drivertest"
	"github.com/berthhq/berth/storage/driver/inmemory"
)

func TestConformance(t *testing.T) {
	drivertest.Run(t, func(*testing.T) driver.Driver { return inmemory.New() })
}
