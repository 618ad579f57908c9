module github.com/tartape/tartape/bindings/go

go 1.23
