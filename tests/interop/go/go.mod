module tartape-interop

go 1.21
