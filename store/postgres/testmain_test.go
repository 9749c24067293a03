package postgres_test

import (
	"testing"

	"github.com/licensor/licensor/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
