//! Push: the blocks of a `PUT`/`POST /5/0/0` with Block1 go to the sink as they arrive. The
//! transport delivers them one by one (`Endpoint::stream_block1`, set up by the builder when
//! the client has a [`FirmwareObject`]); each non-final block is answered 2.31 Continue, the
//! last one 2.04.

use core::hash::Hash;

use lwm2m_codec::coap::{Block, Code, Message};
use lwm2m_codec::ContentFormat;
use lwm2m_model::Path;

use super::FirmwareError;
use crate::client::Client;
use crate::error::DmError;
use crate::object::firmware::{PushRefusal, PushStep};
use crate::object::FirmwareObject;

/// The answer to a pushed block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockAnswer {
    pub(crate) code: Code,
    /// The package is complete (the Write is done).
    pub(crate) complete: bool,
}

/// The code for a block the sink refused in the middle of a push: the peer must stop sending.
fn refusal_code(error: &FirmwareError) -> Code {
    match error {
        FirmwareError::NotEnoughFlash(_) | FirmwareError::OutOfRam(_) => {
            Code::REQUEST_ENTITY_TOO_LARGE
        }
        FirmwareError::ConnectionLost(_) => Code::REQUEST_ENTITY_INCOMPLETE,
        FirmwareError::IntegrityCheckFailure(_)
        | FirmwareError::UnsupportedPackageType(_)
        | FirmwareError::InvalidUri(_)
        | FirmwareError::UnsupportedProtocol(_) => Code::BAD_REQUEST,
        FirmwareError::UpdateFailed(_) => Code::INTERNAL_SERVER_ERROR,
    }
}

impl<P: Clone + Eq + Hash + 'static> Client<P> {
    /// One Block1 block written to Package (`/5/0/0`); `None` when the client's object 5 is not
    /// a [`FirmwareObject`] (the Write then goes the usual way). Access rights, the instance and
    /// the Content-Format's presence were checked by the caller.
    pub(crate) fn firmware_push(
        &mut self,
        path: &Path,
        msg: &Message<'_>,
        block: Block,
        body: &[u8],
    ) -> Option<Result<BlockAnswer, DmError>> {
        let format = msg.content_format().ok().flatten();
        if format != Some(ContentFormat::Opaque.number()) {
            return Some(Err(DmError::UnsupportedContentFormat {
                path: *path,
                format,
            }));
        }
        let size = msg.size1().ok().flatten().map(u64::from);
        let fw = self.object_mut::<FirmwareObject>(5)?;
        let step = fw.push_block(u64::from(block.offset()), body, block.more(), size);
        let now = self.now;
        let answer = match step {
            Ok(PushStep::Continue) => BlockAnswer {
                code: Code::CONTINUE,
                complete: false,
            },
            Ok(PushStep::Complete) => BlockAnswer {
                code: Code::CHANGED,
                complete: true,
            },
            Err(PushRefusal::NotAllowed) => return Some(Err(DmError::MethodNotAllowed(*path))),
            Err(PushRefusal::Busy) => {
                return Some(Err(DmError::bad_request(
                    *path,
                    "a package download from the Package URI is in progress",
                )))
            }
            Err(PushRefusal::OutOfOrder) => BlockAnswer {
                code: Code::REQUEST_ENTITY_INCOMPLETE,
                complete: false,
            },
            Err(PushRefusal::Sink(e)) => BlockAnswer {
                code: refusal_code(&e),
                complete: false,
            },
        };
        self.firmware_push_alive(now, answer.code == Code::CONTINUE);
        Some(Ok(answer))
    }
}
