import Foundation
import Testing
@testable import UdockerCore

/// container.json as `run` reads it on every start: leniently, as Docker and other tools write it.
@Suite struct ImageConfigTests {
    func parse(_ json: String) throws -> ImageConfig { try ImageConfig(json: Data(json.utf8)) }

    @Test func aDockerConfigReadsWhatRunNeeds() throws {
        let config = try parse(#"""
            {"architecture":"amd64","os":"linux","variant":"v8","rootfs":{"type":"layers","diff_ids":["sha256:ab"]},
             "config":{"Entrypoint":["/init","--"],"Cmd":["sh","-c","echo hi"],"Env":["PATH=/usr/bin","A=b c"],
                       "WorkingDir":"/srv","User":"1000:100","Labels":{"x":"y"},"ExposedPorts":{"80/tcp":{}}},
             "history":[{"created_by":"x"}]}
            """#)
        #expect(config.entrypoint == ["/init", "--"] && config.cmd == ["sh", "-c", "echo hi"])
        #expect(config.env == ["PATH=/usr/bin", "A=b c"] && config.workingDir == "/srv" && config.user == "1000:100")
        #expect(config.platform == "linux/amd64/v8")
    }

    @Test func nullsBareStringsAndStrayTypesReadAsDockerMeansThem() throws {
        let config = try parse(#"""
            {"architecture":7,"config":{"Entrypoint":null,"Cmd":"echo hi","Env":["A=1",2,null,{"B":"3"},["C"],"D=4"],
                                        "WorkingDir":null,"User":0}}
            """#)
        #expect(config.entrypoint == [] && config.cmd == ["/bin/sh", "-c", "echo hi"] && config.env == ["A=1", "D=4"])
        #expect(config.workingDir == "" && config.user == "" && config.architecture == "")
        #expect(try parse(#"{"config":{"Cmd":""}}"#).cmd == [])
        #expect(try parse(#"{"config":{"Cmd":{"a":1}}}"#).cmd == [])
    }

    @Test func containerConfigStandsInWhenConfigIsMissingOrNotAnObject() throws {
        let fallback = #""container_config":{"Cmd":["old"]}"#
        #expect(try parse("{\(fallback)}").cmd == ["old"])
        #expect(try parse(#"{"config":null,"# + fallback + "}").cmd == ["old"])
        #expect(try parse(#"{"config":"text","# + fallback + "}").cmd == ["old"])
        #expect(try parse(#"{"config":{},"# + fallback + "}").cmd == [])
        #expect(try parse("{}") == ImageConfig())
    }

    @Test func whatIsNotAJSONObjectIsRefused() throws {
        for text in ["", "[]", "\"text\"", "{\"config\":", "null"] {
            #expect(throws: UdockerError.self, "\(text)") { try parse(text) }
        }
    }
}
