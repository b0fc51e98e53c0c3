using System.Runtime.CompilerServices;

// Our P/Invoke structs mirror C layouts byte for byte; C bool is one byte. With runtime marshalling disabled,
// `bool` is a 1-byte blittable type and structs are passed exactly as declared (LibraryImport and function
// pointers alike).
[assembly: DisableRuntimeMarshalling]
