using System.Runtime.InteropServices;

namespace Gguf.Cli.Commands;

    /// <summary>
    /// Ctrl+C (SIGINT) and SIGTERM cancel the token instead of killing the process, so a load frees what it
    /// allocated and the tool exits with one line. System.CommandLine's own handler is only installed once a
    /// synchronous action has returned, too late for a load. A second signal terminates as usual.
    /// </summary>
internal sealed class SignalCancellation : IDisposable
    {
        private readonly CancellationTokenSource _source;
        private readonly PosixSignalRegistration[] _registrations;
        private int _signals;

        public SignalCancellation(CancellationToken outer)
        {
            _source = CancellationTokenSource.CreateLinkedTokenSource(outer);
            _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal), PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal)];
        }

        public CancellationToken Token => _source.Token;

        public void Dispose()
        {
            foreach (PosixSignalRegistration registration in _registrations)
            {
                registration.Dispose();
            }

            _source.Dispose();
        }

        private void OnSignal(PosixSignalContext context)
        {
            if (Interlocked.Increment(ref _signals) == 1)
            {
                context.Cancel = true;
                _source.Cancel();
            }
        }
    }
